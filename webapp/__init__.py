"""The Django project: settings, URLs, the Celery app, accounts, API and UI."""
from webapp.celery import app as celery_app

__all__ = ("celery_app",)
