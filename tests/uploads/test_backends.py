"""The two backends' object operations, on SeaweedFS and on disk."""

from datetime import UTC, datetime, timedelta

import botocore.auth
import botocore.signers
import pytest
from django.core.exceptions import SuspiciousFileOperation

from tests.support.modes import use_storages
from uploads.backends import get_backend
from uploads.backends.base import ObjectChanged, ObjectMissing
from uploads.errors import StorageAccessDenied, StorageUnavailable
from uploads.media import S3MediaStorage


def test_object_operations_and_preconditions(store):
    backend = get_backend()
    key = "media/sites/1/products/incoming/a.jpg"
    with pytest.raises(ObjectMissing):
        backend.head(key)

    store.put(key, b"abcdef")
    info = backend.head(key)
    assert info.size == 6
    assert backend.read(key, info.etag, length=2) == b"ab"
    assert backend.read(key, info.etag) == b"abcdef"

    backend.copy(key, "media/sites/1/products/final.jpg", info.etag, "image/jpeg")
    assert store.read("media/sites/1/products/final.jpg") == b"abcdef"

    store.put(key, b"ghijkl")  # replaced: same size, new ETag
    with pytest.raises(ObjectChanged):
        backend.read(key, info.etag)
    with pytest.raises(ObjectChanged):
        backend.copy(key, "media/sites/1/products/other.jpg", info.etag, "image/jpeg")
    assert "media/sites/1/products/other.jpg" not in store.keys()

    backend.delete(key)
    backend.delete(key)  # deleting twice is fine
    assert not backend.exists(key)
    assert store.keys() == ["media/sites/1/products/final.jpg"]


def test_the_first_bytes_come_with_the_size_and_etag_of_the_whole(store):
    backend = get_backend()
    key = "media/sites/1/products/incoming/b.jpg"
    with pytest.raises(ObjectMissing):
        backend.read_first(key, 4)

    store.put(key, b"abcdef")
    info, data = backend.read_first(key, 4)
    assert (info, data) == (backend.head(key), b"abcd")
    assert backend.read_first(key, 100) == (info, b"abcdef")
    backend.copy(key, "media/sites/1/products/b.jpg", info.etag, "image/jpeg")

    store.put(key, b"ghijkl")  # replaced: same size, new ETag
    assert backend.read_first(key, 4)[0].etag != info.etag
    store.put(key, b"")
    assert backend.read_first(key, 4) == (backend.head(key), b"")


def test_local_keys_stay_under_the_media_root(local_media):
    backend = get_backend()
    for key in ("media/../outside.jpg", "media/sites/../../x", "elsewhere/x.jpg", "/etc/passwd"):
        with pytest.raises(SuspiciousFileOperation):
            backend.path(key)


def test_the_probe_passes_on_a_working_store(store):
    get_backend(timeout=1).probe()


def test_the_probe_fails_on_an_unwritable_media_root(settings, tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    settings.MEDIA_ROOT = blocker / "media"
    use_storages(settings)

    with pytest.raises(StorageUnavailable):
        get_backend().probe()
    assert "missing or not writable" in caplog.text


def test_a_missing_bucket_is_a_store_failure_not_a_missing_object(s3_bucket, settings, caplog):
    # S3 answers 404 NoSuchBucket: the store is set up wrong, which callers
    # retry or report (deletions are retried), not an object already gone.
    settings.AWS_STORAGE_BUCKET_NAME = "no-such-bucket-anywhere"
    backend = get_backend(timeout=1)

    for call in (
        backend.probe,
        lambda: backend.delete("media/sites/1/products/incoming/a.jpg"),
    ):
        with pytest.raises(StorageUnavailable) as raised:
            call()
        assert not isinstance(raised.value, StorageAccessDenied)
    assert "NoSuchBucket" in caplog.text


@pytest.mark.parametrize("public", [False, True])
def test_forms_are_signed_as_botocore_signs_them(s3_bucket, settings, monkeypatch, public):
    """``presigned_post`` resolves the bucket's address once per process and
    signs with botocore's signer of forms: the same form, field for field,
    as ``generate_presigned_post``, at the public address too."""
    if public:
        settings.AWS_S3_PUBLIC_ENDPOINT_URL = "https://media.example.com"
        use_storages(settings)
    now = datetime(2026, 11, 24, 9, 30, 0, tzinfo=UTC)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: now.replace(tzinfo=None))
    monkeypatch.setattr(botocore.signers, "get_current_datetime", lambda: now.replace(tzinfo=None))
    storage = S3MediaStorage()
    key = "media/sites/1/products/incoming/a.jpg"
    fields = {"key": key, "Content-Type": "image/jpeg"}
    conditions = [{"key": key}, {"Content-Type": "image/jpeg"}, ["content-length-range", 5, 5]]
    expected = storage.signing_client.generate_presigned_post(
        Bucket=s3_bucket, Key=key, Fields=fields, Conditions=conditions, ExpiresIn=600
    )

    for _ in range(2):  # botocore's, then with the address kept
        form = storage.presigned_post(key, fields, conditions, now + timedelta(seconds=600))
        assert form == expected
    assert form["url"].startswith("https://media.example.com" if public else "http://127.0.0.1")
