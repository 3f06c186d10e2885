"""The service's settings plus the export gate, for a test worker (DJANGO_SETTINGS_MODULE in its environment)."""
from webapp.settings import *

CELERY_IMPORTS = ["tests.webapp.reporting.export_gate"]
