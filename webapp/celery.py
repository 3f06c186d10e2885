"""The Celery application; queues "cpu" (hashing, metadata, C2PA), "gpu" (models) and "control" (sweeps).

One wiring for every app: ``autodiscover_tasks()`` imports each installed app's ``tasks`` module (in the worker
when it starts, in the web process when a job is first queued, without setting Django up again: see
:func:`_import_task_modules`); no AppConfig imports tasks. A task is a thin wrapper that imports its service at the
top; a service queues a job by the task's name (:func:`task_named`), so no service imports the tasks that run it,
and chaining one stage to the next is the tasks module's business.
"""
import os
import threading

from celery import Celery, Task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

app = Celery("webapp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()  # every INSTALLED_APPS entry's tasks module
# Celery marks the app finalized before its autodiscovery has imported the tasks modules, so a second thread
# asking for a task meanwhile finds it missing: one lookup at a time while a process loads them.
_loading_tasks = threading.Lock()


def task_named(name: str) -> Task:
    """The registered task called ``name`` (its name on the wire, as in CELERY_TASK_ROUTES).

    Importing the tasks modules is left to autodiscovery: done at a worker's start, and here the first time a
    process asks for a task it has not loaded yet (one thread at a time: a threaded web process's first requests
    arrive together). An unknown name is a KeyError, not a message nobody takes.
    """
    with _loading_tasks:
        if name not in app.tasks:
            _import_task_modules()
        return app.tasks[name]


def _import_task_modules() -> None:
    """Import what a worker imports at its start (every installed app's tasks module, then ``CELERY_IMPORTS``), in a
    process whose Django is already set up.

    Not ``app.loader.import_default_modules()``: the ``import_modules`` signal it sends runs Celery's Django fixup,
    which is for a worker starting before Django: it calls ``django.setup()`` again (re-applying ``LOGGING``, which
    drops every handler added since, a test's log capture included) and runs Django's system checks, all inside the
    first request that queues a job. Autodiscovery forced here imports the same modules the signal would.
    """
    app.autodiscover_tasks(force=True)
    for module in app.loader.default_modules:
        app.loader.import_task_module(module)
