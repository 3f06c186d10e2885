import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
application = get_wsgi_application()
# Load the URL table now, while the worker boots: its views import torch and the detectors (about 3 s on
# 2 cores), which otherwise fell on each new gunicorn worker's first request.
_ = get_resolver().url_patterns
