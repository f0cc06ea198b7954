"""Celery app, thin tasks, job chunking and the stream reader process."""
