from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _after_migrate(sender: Any, **kwargs: Any) -> None:
    from portal.earlyaccess.retention import schedule_retention

    schedule_retention()


class EarlyAccessConfig(AppConfig):
    name = "portal.earlyaccess"
    label = "earlyaccess"
    verbose_name = "Azure Linux 4 early access"

    def ready(self) -> None:
        from portal.earlyaccess import checks  # noqa: F401  (registers the system check)

        post_migrate.connect(_after_migrate, sender=self)
