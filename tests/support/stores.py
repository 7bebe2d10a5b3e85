"""The store seen from outside, as a client and an operator see it: the
test SeaweedFS's credentials, what a bucket or a media folder holds, and a
``Store`` per storage mode that posts forms as a client would."""

import os
import time
from pathlib import Path

import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

# The credentials and region of the tests' SeaweedFS (the ``seaweedfs``
# fixture), for the processes and clients that reach it.
ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key"
REGION = "eu-west-3"


def is_rendition(key):
    """Whether ``key`` is a rendition's (``uploads.renditions.rendition_name``)."""
    return "/renditions/" in key


def bucket_keys(client, bucket, *, renditions=False):
    """The bucket's keys, but for renditions unless asked: the tests of the
    upload flow look at originals and uploads, those of renditions at
    theirs."""
    response = client.list_objects_v2(Bucket=bucket)
    keys = sorted(item["Key"] for item in response.get("Contents", []))
    return keys if renditions else [key for key in keys if not is_rendition(key)]


def temporary_file(name, seconds_old=0):
    """A file in the folder of files being written (filesystem mode: an
    upload being received, a rendition before its rename), last written
    ``seconds_old`` ago; its path."""
    from uploads.media import LocalMediaStorage

    folder = Path(LocalMediaStorage().temporary_path())
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b"\xff\xd8")
    written = time.time() - seconds_old
    os.utime(path, (written, written))
    return path


def disk_files(root):
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


class Store:
    """One storage mode seen from outside: post a form as a client would,
    and look at what the store holds, as bucket keys (``media/...``)."""

    mode = None

    def post(self, upload, body, fields=None, filename="photo.jpg", file_type="image/jpeg"):
        raise NotImplementedError

    def keys(self):
        """The keys of the originals and uploads the store holds: the tests
        of the upload flow look at these; renditions are listed apart."""
        return [key for key in self.all_keys() if not is_rendition(key)]

    def rendition_keys(self):
        return [key for key in self.all_keys() if is_rendition(key)]

    def all_keys(self):
        raise NotImplementedError


class S3Store(Store):
    mode = "s3"

    def __init__(self, client, bucket):
        self.client = client
        self.bucket = bucket

    def post(self, upload, body, fields=None, filename="photo.jpg", file_type="image/jpeg"):
        form = upload["fields"] if fields is None else fields
        return requests.post(
            upload["url"], data=form, files={"file": (filename, body, file_type)}, timeout=30
        ).status_code

    def all_keys(self):
        return bucket_keys(self.client, self.bucket, renditions=True)

    def read(self, key):
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def put(self, key, body):
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body)

    def delete(self, key):
        self.client.delete_object(Bucket=self.bucket, Key=key)


class LocalStore(Store):
    mode = "local"

    def __init__(self, media_root):
        self.media_root = media_root
        self.http = APIClient()

    def post(self, upload, body, fields=None, filename="photo.jpg", file_type="image/jpeg"):
        form = dict(upload["fields"] if fields is None else fields)
        form["file"] = SimpleUploadedFile(filename, body, file_type)
        return self.http.post(upload["url"], form, format="multipart").status_code

    def all_keys(self):
        if not self.media_root.exists():
            return []
        return [f"media/{name}" for name in disk_files(self.media_root)]

    def path(self, key):
        return self.media_root / key.removeprefix("media/")

    def read(self, key):
        return self.path(key).read_bytes()

    def delete(self, key):
        self.path(key).unlink()

    def put(self, key, body):
        # As the emulator lands uploads: a new file renamed into place.
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_bytes(body)
        temporary.replace(path)


def store_of(mode, request):
    """The ``Store`` of a test running in ``mode`` (``request``: the test's
    pytest request, whose fixtures give the bucket or the media folder)."""
    if mode == "s3":
        return S3Store(request.getfixturevalue("s3_client"), request.getfixturevalue("s3_bucket"))
    return LocalStore(request.getfixturevalue("local_media"))
