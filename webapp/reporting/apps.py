from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "webapp.reporting"
    label = "reporting"
    verbose_name = "Reports and exports"
