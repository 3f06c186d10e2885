"""The service's settings plus the export gate, for a test worker (DJANGO_SETTINGS_MODULE in its environment)."""
from webapp.settings import *  # noqa: F401,F403

CELERY_IMPORTS = ["tests.webapp.reporting.export_gate"]
