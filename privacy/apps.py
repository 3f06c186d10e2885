from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = "Private fine-tuning"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The SQLite function the ledger's append-only trigger consults. (The Celery tasks are autodiscovered:
        # webapp/celery.py.)
        from privacy import db_triggers

        db_triggers.connect()
