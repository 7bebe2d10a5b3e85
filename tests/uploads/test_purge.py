"""purge_uploads: expired tickets that were never confirmed go, with their
objects; confirmed attachments stay. With a key missing a permission (as
AWS answers it), it says what it could not do instead of crashing."""

import os
import signal
import subprocess
import sys
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.support.clock import shifted
from tests.support.iam import readme_policy, without
from tests.support.images import jpeg
from tests.support.processes import BASE_DIR, environment
from tests.support.stores import S3Store, disk_files, temporary_file
from tests.support.tickets import confirm, issue, unsigned
from uploads.media import TEMPORARY_MAX_AGE
from uploads.models import UploadTicket


def expire(ticket_id):
    UploadTicket.objects.filter(pk=ticket_id).update(expires_at=timezone.now() - timedelta(hours=2))


def run(*args, stderr=None):
    out = StringIO()
    call_command("purge_uploads", *args, stdout=out, stderr=stderr or StringIO())
    return out.getvalue()


def test_purge_removes_expired_unconfirmed_tickets_and_objects(store, api, product):
    body = jpeg()
    abandoned = issue(api, product, body)  # uploaded, never confirmed
    assert store.post(abandoned["upload"], body) in (200, 201, 204)
    never_uploaded = issue(api, product, body)
    fresh = issue(api, product, body)  # not expired: kept
    assert store.post(fresh["upload"], body) in (200, 201, 204)
    confirmed = issue(api, product, body)
    assert store.post(confirmed["upload"], body) in (200, 201, 204)
    attached = confirm(api, confirmed).json()
    # A re-post to a confirmed ticket's incoming key, left behind.
    assert store.post(confirmed["upload"], body) in (200, 201, 204)
    for ticket in (abandoned, never_uploaded, confirmed):
        expire(ticket["id"])

    dry = run("--dry-run")
    assert "Would delete 2 expired ticket(s) and 2 object(s)" in dry
    assert UploadTicket.objects.count() == 4
    assert abandoned["upload"]["fields"]["key"] in store.keys()

    assert "Deleted 2 expired ticket(s) and 2 object(s)" in run()
    assert {str(pk) for pk in UploadTicket.objects.values_list("pk", flat=True)} == {
        fresh["id"],
        confirmed["id"],
    }
    assert store.keys() == sorted([fresh["upload"]["fields"]["key"], attached["key"]])
    product.refresh_from_db()
    assert "media/" + product.image.name == attached["key"]

    assert "Deleted 0 expired ticket(s) and 0 object(s)" in run()
    assert unsigned(confirm(api, confirmed).json()) == unsigned(attached)


def test_a_deleted_users_uploads_go_once_their_tickets_expire(store, staff, api, product):
    """A deleted user's tickets stay, without their user, and the purge
    deletes their objects as any ticket's: one already posted, and one a
    phone posted after the deletion, which the ticket's policy still
    allowed. A confirmed ticket's image stays its product's."""
    body = jpeg()
    waiting, late, confirmed = (issue(api, product, body) for _ in range(3))
    for ticket in (waiting, confirmed):
        assert store.post(ticket["upload"], body) in (200, 201, 204)
    attached = confirm(api, confirmed).json()

    staff.delete()  # as from the shell: the admin's delete is the same

    assert store.post(late["upload"], body) in (200, 201, 204)
    assert list(UploadTicket.objects.values_list("user", flat=True)) == [None] * 3
    for ticket in (waiting, late, confirmed):
        expire(ticket["id"])

    # And the upload the confirmed ticket's file was copied from.
    assert "Deleted 2 expired ticket(s) and 3 object(s)" in run()
    assert store.keys() == [attached["key"]]
    product.refresh_from_db()
    assert "media/" + product.image.name == attached["key"]
    assert list(UploadTicket.objects.values_list("pk", flat=True)) == [
        UploadTicket.objects.get(pk=confirmed["id"]).pk
    ]


@pytest.fixture
def aws_store(s3_bucket, s3_client):
    return S3Store(s3_client, s3_bucket)


def test_a_key_that_may_not_list_purges_without_counting_what_it_cannot_see(
    aws_store, aws_key, api, product
):
    # Without s3:ListBucket, AWS answers 403 to a HEAD of a missing key.
    aws_key(without(readme_policy(aws_store.bucket), "s3:ListBucket"))
    body = jpeg()
    abandoned = issue(api, product, body)
    assert aws_store.post(abandoned["upload"], body) == 204
    never_uploaded = issue(api, product, body)
    for ticket in (abandoned, never_uploaded):
        expire(ticket["id"])

    dry = run("--dry-run")
    assert "Would delete 2 expired ticket(s) and 1 object(s)." in dry
    assert "would not say whether 1 incoming key(s) held an object" in dry
    assert "they would be deleted without being counted" in dry
    assert UploadTicket.objects.count() == 2

    output = run()

    assert "Deleted 2 expired ticket(s) and 1 object(s)." in output
    assert "(403 to a HEAD: the credentials lack s3:ListBucket on the bucket" in output
    assert UploadTicket.objects.count() == 0
    assert aws_store.keys() == []


def test_a_key_that_may_not_delete_keeps_the_tickets_and_says_why(aws_store, aws_key, api, product):
    aws_key(without(readme_policy(aws_store.bucket), "s3:DeleteObject"))
    body = jpeg()
    abandoned = issue(api, product, body)
    assert aws_store.post(abandoned["upload"], body) == 204
    expire(abandoned["id"])
    key = abandoned["upload"]["fields"]["key"]
    errors = StringIO()

    with pytest.raises(CommandError, match=r"1 object\(s\) could not be deleted; their tickets"):
        run(stderr=errors)

    assert f"Not deleted: {key}: the store refused the delete_object (403)" in errors.getvalue()
    assert (
        f"Grant s3:DeleteObject on arn:aws:s3:::{aws_store.bucket}/media/sites/*"
        in errors.getvalue()
    )
    assert UploadTicket.objects.filter(pk=abandoned["id"]).exists(), "kept for the next run"
    assert aws_store.keys() == [key]

    aws_key(readme_policy(aws_store.bucket))

    assert "Deleted 1 expired ticket(s) and 1 object(s)." in run()
    assert aws_store.keys() == []


# A rendition written over the earlier one, by a process killed between the
# write of its temporary file and the rename over the rendition (SIGKILL,
# out of memory, a container stopped).
KILLED_WHILE_WRITING = """
import os, signal
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
os.replace = lambda *args: os.kill(os.getpid(), signal.SIGKILL)
default_storage.overwrite("sites/1/products/renditions/a-thumb.webp", ContentFile(b"RIFF"))
"""


@pytest.mark.process
def test_purge_deletes_the_temporary_file_of_a_write_killed_before_its_rename(
    db, local_media, tmp_path
):
    """Filesystem mode writes a rendition beside it, then renames it over
    it: a process killed in between left its temporary file in the media
    tree for good. It is in one folder, which purge lists, and deleted
    once no process can be writing it any more."""
    killed = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", KILLED_WHILE_WRITING],
        cwd=BASE_DIR,
        env=environment(tmp_path, DJANGO_DEBUG="true", DJANGO_MEDIA_ROOT=str(local_media)),
        capture_output=True,
        timeout=60,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    (left,) = disk_files(local_media)
    assert left.startswith(".incoming-tmp/")

    assert "temporary" not in run(), "maybe still being written: kept"
    with shifted(TEMPORARY_MAX_AGE + 60):
        dry = run("--dry-run")
        assert disk_files(local_media) == [left]
        output = run()

    message = (
        "1 temporary file(s) left by a process stopped while writing them (60 min or more ago)."
    )
    assert f"Would delete {message}" in dry
    assert f"Deleted {message}" in output
    assert disk_files(local_media) == []


def test_purge_keeps_the_files_being_written(db, local_media):
    """A file untouched for less than an hour may be an upload being
    received or a rendition being written: deleted, it would fail them."""
    temporary_file(".upload-being-received", seconds_old=TEMPORARY_MAX_AGE - 60)
    temporary_file(".upload-left", seconds_old=TEMPORARY_MAX_AGE + 60)

    output = run()

    assert "Deleted 1 temporary file(s)" in output
    assert disk_files(local_media) == [".incoming-tmp/.upload-being-received"]


def a_folder_it_may_not_read(local_media, monkeypatch):
    """The folder of files being written, its permissions refusing this
    process (made by another user, say). The tests run as root, which
    ``chmod 000`` does not refuse: ``os.scandir`` refuses it instead, as
    it would for another user."""
    folder = str(temporary_file(".left", seconds_old=TEMPORARY_MAX_AGE + 60).parent)
    scandir = os.scandir

    def refuse(path=".", *args, **kwargs):
        if os.fspath(path) == folder:
            raise PermissionError(13, "Permission denied", folder)
        return scandir(path, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", refuse)
    return folder


def a_file_in_its_place(local_media, monkeypatch):
    """A file where the folder of files being written should be (a copy or
    a restore gone wrong); a real one."""
    local_media.mkdir(parents=True, exist_ok=True)
    path = local_media / ".incoming-tmp"
    path.write_bytes(b"")
    return str(path)


@pytest.mark.parametrize("unreadable", [a_folder_it_may_not_read, a_file_in_its_place])
def test_a_folder_of_temporary_files_the_purge_may_not_read_stops_nothing_else(
    unreadable, db, local_media, monkeypatch, caplog, api, product
):
    """The purge deletes what else it has to (an expired ticket here),
    reports it and succeeds, and says in the log why it left the folder."""
    folder = unreadable(local_media, monkeypatch)
    expire(issue(api, product, jpeg())["id"])

    output = run()

    assert "Deleted 1 expired ticket(s)" in output
    assert UploadTicket.objects.count() == 0
    assert "temporary" not in output
    assert f"Could not list the temporary files in {folder}" in caplog.text


def test_a_temporary_file_the_purge_may_not_delete_stops_nothing_else(
    db, local_media, monkeypatch, caplog
):
    """Another user's file, say, left by a process of theirs: the purge
    leaves it, says so in the log, and deletes the others."""
    theirs = temporary_file(".theirs", seconds_old=TEMPORARY_MAX_AGE + 60)
    temporary_file(".left", seconds_old=TEMPORARY_MAX_AGE + 60)
    remove = os.remove

    def refuse_theirs(path, *args, **kwargs):
        if os.fspath(path) == str(theirs):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        remove(path, *args, **kwargs)

    monkeypatch.setattr(os, "remove", refuse_theirs)

    output = run()

    assert "Deleted 1 temporary file(s)" in output
    assert disk_files(local_media) == [".incoming-tmp/.theirs"]
    assert f"Could not delete the temporary file {theirs}" in caplog.text
