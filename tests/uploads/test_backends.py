"""The two backends' object operations, on SeaweedFS and on disk."""

import pytest
from django.core.exceptions import SuspiciousFileOperation

from uploads.backends import get_backend
from uploads.backends.base import ObjectChanged, ObjectMissing


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


def test_local_keys_stay_under_the_media_root(local_media):
    backend = get_backend()
    for key in ("media/../outside.jpg", "media/sites/../../x", "elsewhere/x.jpg", "/etc/passwd"):
        with pytest.raises(SuspiciousFileOperation):
            backend.path(key)
