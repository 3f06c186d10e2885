from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = "Private fine-tuning"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the Celery tasks (and the worker-start sweep) in every process that loads Django, and the
        # SQLite function the ledger's append-only trigger consults.
        from privacy import db_triggers, tasks  # noqa: F401

        db_triggers.connect()
