"""
Deleting the objects nothing refers to any more, without ever losing one.

An object becomes unused when a transaction commits: the image a confirm
replaced, the upload it copied, an upload it rejected, a copy it made but
could not attach. The store may refuse that delete or not answer, and the
process may die right after the commit. So the rule, once, for confirm,
the task and ``purge_uploads``:

    schedule()        in the transaction that orphans the objects, record
                      each one (``PendingDeletion``) and, once committed,
                      hand them to the ``delete_objects`` task
    delete_recorded() delete recorded objects; a failure is counted, its
                      error kept and the next attempt put off (doubling
                      delays), and the record stays until a delete succeeds;
                      an image a row names again is kept with its
                      renditions, and their records dropped
                      (``uploads.targets.names_in_use``), as is a key the
                      app never records (``uploads.keys.is_plain_key``)
    keep()            drop the records of objects found to be in use
    retry_later()     the task's follow-up for what failed, at the next
                      attempt's time
    record()          schedule()'s records alone, for callers that delete
                      them next: confirm, which queues one task for its
                      deletes and renditions (issue 17), that task, and
                      ``purge_uploads``

Requests never wait on these deletes: the task runs them in the worker
(``manage.py db_worker``), and ``purge_uploads`` retries whatever is left
and lists what keeps failing, as the admin does.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from django.db import connections, router, transaction
from django.db.models.constants import OnConflict
from django.utils import timezone

from uploads.backends import get_backend
from uploads.conf import upload_settings
from uploads.errors import StorageAccessDenied, StorageUnavailable
from uploads.keys import image_names, is_plain_key
from uploads.models import PendingDeletion
from uploads.statements import written_once

logger = logging.getLogger(__name__)
Reason = PendingDeletion.Reason


def schedule(objects):
    """Record ``objects`` ({key: reason}) for deletion; the task deletes them
    once the current transaction commits. A key already recorded keeps its
    record, due at once (``insert_records``)."""
    keys = record(objects)
    if keys:
        transaction.on_commit(partial(enqueue, keys), robust=True)


def record(objects):
    """Record ``objects`` ({key: reason}) for deletion, in the current
    transaction, and return their keys: the caller hands them to a task once
    it commits (``schedule``, or confirm's one task, ``uploads.tasks``)."""
    objects = {key: reason for key, reason in objects.items() if key}
    if objects:
        insert_records(objects)
    return list(objects)


# The columns record() writes: a new record's.
RECORD_FIELDS = tuple(
    PendingDeletion._meta.get_field(name)
    for name in ("key", "reason", "attempts", "last_error", "created_at", "next_attempt_at")
)


def insert_records(objects):
    """What ``bulk_create(..., update_conflicts=True,
    update_fields=["next_attempt_at"], unique_fields=["key"])`` sends for
    new records of ``objects``, in statements written once per number of
    rows (``uploads.statements``): every confirm records two objects or
    more, and compiling the ORM's insert cost more than running it.

    A key already recorded keeps its record (its reason, attempts and last
    error), due at once: its next attempt is what marks it recorded again,
    so that the worker, dropping the record of an image a row names
    (``keep``), drops only a record as it read it. Left as it was, a change
    that stopped naming the image while the worker looked (a clear not yet
    committed) recorded nothing new, and once it committed no row and no
    record named the image, left in the store for good."""
    connection = connections[router.db_for_write(PendingDeletion)]
    rows = record_rows(connection, objects)
    batch = max(1, connection.ops.bulk_batch_size(RECORD_FIELDS, rows))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            sql = written_once(connection, "record", write_insert_records, len(chunk))
            cursor.execute(sql, [value for row in chunk for value in row])


def record_rows(connection, objects):
    """The values of ``RECORD_FIELDS`` for new records of ``objects``
    ({key: reason}), ready for ``connection``, in the order of their keys:
    a key recorded again is locked by the insert (``insert_records``), and
    two inserts locking the same keys in two orders could wait on each
    other for good."""
    now = timezone.now()
    return [
        [
            field.get_db_prep_save(value, connection)
            for field, value in zip(RECORD_FIELDS, (key, reason, 0, "", now, now), strict=True)
        ]
        for key, reason in sorted(objects.items())
    ]


def write_insert_records(connection, count):
    into, values, again = insert_records_sql(connection, count)
    return f"{into} {values} {again}"


def insert_records_sql(connection, count):
    """The parts of the INSERT of ``count`` new records (``record_rows``):
    ``INSERT INTO`` the table and its columns, the ``VALUES`` rows, and the
    clause that makes a key already recorded due at once, and leaves the
    rest of its record as it is (``insert_records``)."""
    ops = connection.ops
    meta = PendingDeletion._meta
    table = ops.quote_name(meta.db_table)
    columns = ", ".join(ops.quote_name(field.column) for field in RECORD_FIELDS)
    values = ops.bulk_insert_sql(RECORD_FIELDS, [["%s"] * len(RECORD_FIELDS)] * count)
    insert = ops.insert_statement(on_conflict=OnConflict.UPDATE)
    again = ops.on_conflict_suffix_sql(
        RECORD_FIELDS,
        OnConflict.UPDATE,
        [meta.get_field("next_attempt_at").column],
        [meta.get_field("key").column],
    )
    return f"{insert} {table} ({columns})", values, again


def enqueue(keys, run_after=None):
    """Hand ``keys`` to the task. Should the queue fail, the records stay
    for ``purge_uploads``."""
    from uploads.tasks import delete_objects

    task = delete_objects if run_after is None else delete_objects.using(run_after=run_after)
    try:
        task.enqueue(keys)
    except Exception:
        logger.exception("Could not queue the deletion of %d object(s)", len(keys))


@dataclass
class DeletionReport:
    deleted: dict = field(default_factory=dict)  # {key: reason}
    # PendingDeletion records as updated, each with the ``error`` it got.
    failing: list = field(default_factory=list)
    kept: list = field(default_factory=list)  # keys of images a row names
    # Keys the app never records (a record edited by hand): left alone.
    refused: list = field(default_factory=list)

    @property
    def retried(self):
        return len(self.deleted) + len(self.failing)


def delete_recorded(keys=None, *, now=None):
    """Try to delete the recorded objects (those of ``keys``, or all)."""
    backend = get_backend()
    records = PendingDeletion.objects.order_by("pk")
    if keys is not None:
        records = records.filter(key__in=keys)
    report = DeletionReport()
    records = list(records)
    named = keys_in_use([record.key for record in records if is_plain_key(record.key)])
    for record in records:
        if not is_plain_key(record.key):
            # Only a row's name is looked for, and a key spelled otherwise
            # (``media/sites/3/products//x.jpg``) may reach its file all
            # the same: the disk, and SeaweedFS for some, resolve it.
            PendingDeletion.objects.filter(pk=record.pk).delete()
            report.refused.append(record.key)
            logger.error("Recorded key %r is none the app writes: left alone", record.key)
            continue
        if record.key in named:
            keep(record)
            report.kept.append(record.key)
            logger.warning("Kept %s, recorded for deletion: a row names it", record.key)
            continue
        try:
            backend.delete(record.key)
        except Exception as error:
            report.failing.append(record_failure(record, error, now or timezone.now()))
        else:
            # Deleted by key, not by instance: another worker may have
            # deleted the record already.
            PendingDeletion.objects.filter(pk=record.pk).delete()
            report.deleted[record.key] = record.reason
    return report


def keys_in_use(keys):
    """Those of ``keys`` whose object a row of an upload target names
    (``uploads.targets.names_in_use``), and the renditions of those images.

    Confirm records a replaced image with its renditions, and
    ``purge_uploads`` may reach the records before the task that would
    keep them: no row names a rendition, so the image alone would be kept,
    and the set of the row that names it would link to deleted renditions.

    Only images are asked about (a read of each target's table): a row's
    image is right in a site's folder, or in none (an old app's,
    ``uploads.keys.image_names``), so the upload every confirm records,
    and renditions in a site's folder, cost no read (an old app's
    renditions, in none, do)."""
    from uploads.renditions import rendition_keys
    from uploads.targets import names_in_use

    names = image_names(keys)
    named = names_in_use(names)
    return {names[name] for name in named} | (rendition_keys(named) & set(keys))


def keep(record):
    """Drop ``record``, of an object in use after all, so that neither the
    task nor ``purge_uploads`` deletes it: if it is as it was read. A
    change recording the object again since (``insert_records``) leaves it,
    for its task to ask again once that change commits; on PostgreSQL this
    delete waits for that change's transaction, which holds the record."""
    PendingDeletion.objects.filter(pk=record.pk, next_attempt_at=record.next_attempt_at).delete()


def record_failure(record, error, now):
    """Count a failed delete on ``record`` and put its next attempt off
    (``backoff``); the record, with the ``error`` it got."""
    record.error = error
    record.attempts += 1
    record.last_error = describe(error)[:2000]
    record.next_attempt_at = now + backoff(record.attempts)
    # An update, not save(): a record deleted meanwhile stays deleted.
    PendingDeletion.objects.filter(pk=record.pk).update(
        attempts=record.attempts,
        last_error=record.last_error,
        next_attempt_at=record.next_attempt_at,
    )
    logger.warning(
        "Could not delete %s (attempt %d, next at %s): %s",
        record.key,
        record.attempts,
        record.next_attempt_at.isoformat(),
        record.last_error,
    )
    return record


def backoff(attempts):
    """The wait after the ``attempts``-th failure: doubling, capped."""
    delay = upload_settings.DELETE_RETRY_DELAY * 2 ** min(attempts - 1, 30)
    return timedelta(seconds=min(delay, upload_settings.DELETE_RETRY_MAX_DELAY))


def retry_later(failing):
    """Queue one follow-up task for the failed records, due at the earliest
    next attempt. A backend that cannot defer tasks (the immediate one)
    leaves them to ``purge_uploads``."""
    if not failing:
        return
    from uploads.tasks import delete_objects

    if not delete_objects.get_backend().supports_defer:
        return
    enqueue(
        [record.key for record in failing],
        run_after=min(record.next_attempt_at for record in failing),
    )


def describe(error):
    """What went wrong, for the record, the admin and the command."""
    if isinstance(error, StorageAccessDenied):
        return f"the store refused the {error.operation} (403)"
    if isinstance(error, StorageUnavailable):
        return f"the store is unavailable ({error.__cause__ or error})"
    return f"{type(error).__name__}: {error}"
