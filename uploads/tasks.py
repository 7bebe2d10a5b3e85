"""
Background work of the upload app, on Django's Tasks API (the
``django-tasks`` backport until Django 6). The project's ``TASKS`` setting
picks the backend: the database one in production, run by
``manage.py db_worker``.
"""

from django_tasks import task

from uploads import deletions, renditions


@task()
def delete_objects(keys):
    """Delete the recorded objects of ``keys`` (see ``uploads.deletions``);
    those that fail are tried again later by a follow-up task."""
    report = deletions.delete_recorded(keys)
    deletions.retry_later(report.failing)
    return {"deleted": len(report.deleted), "failing": len(report.failing)}


@task()
def make_renditions(original_name, attempt=1):
    """Make the renditions of a confirmed image (``uploads.renditions``);
    idempotent, and queued again later when the store fails."""
    return renditions.make(original_name, attempt=attempt)
