from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webapp.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        # Connects the analysis_finished receiver and registers the Celery tasks
        # in every process that loads Django (web, worker, beat).
        from webapp.webhooks import receivers, tasks  # noqa: F401
