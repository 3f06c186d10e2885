"""Media ingest and validation, the analysis pipeline, verdict fusion and Celery tasks."""
