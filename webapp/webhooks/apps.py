from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webapp.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        # Connects the analysis_finished receiver in every process that loads Django (web, worker, beat). (The
        # Celery tasks are autodiscovered: webapp/celery.py.)
        from webapp.webhooks import receivers  # noqa: F401
