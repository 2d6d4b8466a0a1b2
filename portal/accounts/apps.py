from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "portal.accounts"
    label = "accounts"
    verbose_name = "Organisations and access"

    def ready(self) -> None:
        from portal.accounts import schema  # noqa: F401 - registers the OpenAPI extension
