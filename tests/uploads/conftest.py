import base64
import hashlib

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from inventory.models import Product
from tests.conftest import bucket_keys, disk_files, use_storages
from tests.faults import FaultProxy


@pytest.fixture(autouse=True)
def committed(transactional_db):
    """Real commits: old objects are deleted by on-commit callbacks."""


class Store:
    """One storage mode seen from outside: post a form as a client would,
    and look at what the store holds, as bucket keys (``media/...``)."""

    mode = None

    def post(self, upload, body, fields=None, filename="photo.jpg", file_type="image/jpeg"):
        raise NotImplementedError

    def keys(self):
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

    def keys(self):
        return bucket_keys(self.client, self.bucket)

    def read(self, key):
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def put(self, key, body):
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body)


class LocalStore(Store):
    mode = "local"

    def __init__(self, media_root):
        self.media_root = media_root
        self.http = APIClient()

    def post(self, upload, body, fields=None, filename="photo.jpg", file_type="image/jpeg"):
        form = dict(upload["fields"] if fields is None else fields)
        form["file"] = SimpleUploadedFile(filename, body, file_type)
        return self.http.post(upload["url"], form, format="multipart").status_code

    def keys(self):
        if not self.media_root.exists():
            return []
        return [f"media/{name}" for name in disk_files(self.media_root)]

    def path(self, key):
        return self.media_root / key.removeprefix("media/")

    def read(self, key):
        return self.path(key).read_bytes()

    def put(self, key, body):
        # As the emulator lands uploads: a new file renamed into place.
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_bytes(body)
        temporary.replace(path)


@pytest.fixture(params=["local", "s3"])
def store(request, local_media):
    if request.param == "s3":
        bucket = request.getfixturevalue("s3_bucket")
        result = S3Store(request.getfixturevalue("s3_client"), bucket)
    else:
        result = LocalStore(local_media)
    return result


@pytest.fixture
def site(sites):
    return sites[0]


@pytest.fixture
def product(site):
    return Product.objects.create(site_configuration=site, name="Riz", cug="R-1")


@pytest.fixture
def staff(make_user, site):
    return make_user("staff", site)


@pytest.fixture
def api(staff):
    client = APIClient()
    client.force_authenticate(staff)
    return client


def sha256_b64(body):
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def ticket_request(product, body, **overrides):
    data = {
        "kind": "product",
        "object_id": product.pk,
        "filename": "photo.jpg",
        "content_type": "image/jpeg",
        "size": len(body),
    }
    data.update(overrides)
    return data


def issue(api, product, body, **overrides):
    response = api.post(
        "/api/uploads/tickets/", ticket_request(product, body, **overrides), format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()


def confirm(api, ticket):
    return api.post(f"/api/uploads/tickets/{ticket['id']}/confirm/")


def unsigned(answer):
    """A confirm answer without its URL's query: a presigned URL is signed
    anew for each response, the rest of the answer stays the same."""
    return {**answer, "url": answer["url"].split("?", 1)[0]}


# Bounds of the store's calls in tests that stall it, through the settings.
STORE_TIMEOUT = 0.5


@pytest.fixture
def proxy(seaweedfs):
    """A proxy in front of SeaweedFS that fails on demand (tests.faults)."""
    with FaultProxy(("127.0.0.1", seaweedfs.s3_port)) as proxy:
        yield proxy


@pytest.fixture
def faulty_store(proxy, s3_bucket, settings):
    """S3 mode through ``proxy``, with calls bounded by ``STORE_TIMEOUT``."""
    settings.AWS_S3_ENDPOINT_URL = proxy.url
    settings.AWS_S3_CONNECT_TIMEOUT = STORE_TIMEOUT
    settings.AWS_S3_READ_TIMEOUT = STORE_TIMEOUT
    settings.AWS_S3_MAX_ATTEMPTS = 2
    use_storages(settings)
    return proxy
