from django.apps import AppConfig


class EarlyAccessConfig(AppConfig):
    name = "portal.earlyaccess"
    label = "earlyaccess"
    verbose_name = "Azure Linux 4 early access"
