"""
Background work of the upload app, on Django's Tasks API (the
``django-tasks`` backport until Django 6). The project's ``TASKS`` setting
picks the backend: the database one in production, run by
``manage.py db_worker``.
"""

import logging

from django_tasks import task

from uploads import deletions, renditions

logger = logging.getLogger(__name__)


@task()
def delete_objects(keys):
    """Delete the recorded objects of ``keys`` (see ``uploads.deletions``),
    then forget the rendition sets of the originals deleted, deleting any
    rendition they name beyond ``keys``; those that fail are tried again
    later by a follow-up task."""
    before = renditions.versions(keys)
    report = deletions.delete_recorded(keys)
    left = renditions.forget_deleted(report.deleted, before)
    if left:
        more = deletions.delete_recorded(left)
        report.deleted |= more.deleted
        report.failing += more.failing
        report.kept += more.kept
        report.refused += more.refused
    deletions.retry_later(report.failing)
    return {
        "deleted": len(report.deleted),
        "failing": len(report.failing),
        "kept": len(report.kept),
        "refused": len(report.refused),
    }


@task()
def image_attached(original_name, keys, kind=None, replaced=""):
    """What a confirm leaves to do once it commits, in one task (each task
    is a row of the database backend, counted in confirm's queries, issue
    17), so that confirm's transaction only records what to delete:

    - create the new image's set, pending, if the image is still attached;
    - delete the objects it left unused (``keys``, recorded: the image it
      replaced and its renditions among them), then forget the replaced
      image's set (``delete_objects``); a replaced image another row names
      keeps its set and its renditions (``deletions.keys_in_use``, asked
      once, by the delete);
    - make the new image's renditions.

    Either failing leaves the other done. The set comes first: a worker
    killed in the deletes (which wait on the store) leaves it pending, for
    ``purge_uploads`` to queue its making again (``renditions.
    restart_stalled``); made after them, there was no set, which nothing
    finds, and the image read as pending for good. ``kind`` None: a task
    queued by an earlier release, whose confirm wrote both sets itself.
    ``replaced`` (the replaced image's name) is ignored: tasks queued by
    earlier releases still send it, and the delete finds that image among
    ``keys``."""
    attached = False
    try:
        attached = kind is None or renditions.start(original_name, kind)
    finally:
        try:
            deleted = delete_objects.call(keys)
        finally:
            state = renditions.make(original_name) if attached else None
    return {**deleted, "renditions": state}


def after_attach(original_name, keys, kind):
    """Queue ``image_attached``, on commit. Should the queue fail, the
    records stay for ``purge_uploads`` (which also forgets the replaced
    image's set), and the image, with no set, for ``manage.py
    build_renditions``."""
    try:
        image_attached.enqueue(original_name, keys, kind)
    except Exception:
        logger.exception("Could not queue what the attachment of %s leaves", original_name)


@task()
def make_renditions(original_name, attempt=1):
    """Make the renditions of a confirmed image (``uploads.renditions``);
    idempotent, and queued again later when the store fails."""
    return renditions.make(original_name, attempt=attempt)
