"""Confirm's store calls (``S3Connection.store_call``), which sign their own
requests rather than going through botocore's client call: against a real
SeaweedFS, the store accepts their signatures, their failures mean what the
client's mean, the guard counts them, and they carry what the client's
would."""

import pytest
import requests
from botocore.exceptions import ClientError

from tests.support.iam import readme_policy, without
from uploads.backends import get_backend
from uploads.backends.base import ObjectChanged, ObjectMissing
from uploads.errors import StorageAccessDenied, StorageUnavailable
from uploads.guard import store_guard
from uploads.media import S3MediaStorage

# A key a URL cannot hold as it is: spaces, "+", "%", "?", "#", non-ASCII.
ODD_KEY = "media/sites/1/odd dir/a b+c%25?d#é.jpg"


@pytest.fixture
def backend(s3_bucket):
    return get_backend()


@pytest.fixture
def client_calls(backend):
    """The operations the app's client made through botocore's call
    pipeline (``before-call``)."""
    operations = []

    def recorded(model, **kwargs):
        operations.append(model.name)

    events = backend.client.meta.events
    events.register("before-call.s3", recorded)
    yield operations
    events.unregister("before-call.s3", recorded)


def test_the_store_accepts_the_calls_on_a_key_needing_quoting(
    backend, s3_client, s3_bucket, client_calls
):
    body = bytes(range(256)) * 300
    s3_client.put_object(Bucket=s3_bucket, Key=ODD_KEY, Body=body)

    info, first = backend.read_first(ODD_KEY, 1000)
    assert (info.size, first) == (len(body), body[:1000])
    assert backend.read(ODD_KEY, info.etag, 10, 5000) == body[5000:5010]
    assert backend.head(ODD_KEY) == info

    copy = ODD_KEY.replace(".jpg", " copy.jpg")
    backend.copy(ODD_KEY, copy, info.etag, "image/jpeg")
    stored = s3_client.get_object(Bucket=s3_bucket, Key=copy)
    assert stored["Body"].read() == body
    assert stored["ContentType"] == "image/jpeg"
    for name, value in S3MediaStorage().object_headers().items():
        assert stored[name] == value

    backend.delete(copy)
    assert not backend.exists(copy)
    assert client_calls == [], "none went through botocore's call pipeline"


def test_failures_mean_what_the_clients_mean(backend, s3_client, s3_bucket):
    s3_client.put_object(Bucket=s3_bucket, Key="media/a.jpg", Body=b"abc")
    info, _ = backend.read_first("media/a.jpg", 2)

    with pytest.raises(ObjectMissing):
        backend.read_first("media/none.jpg", 10)
    with pytest.raises(ObjectMissing):
        backend.head("media/none.jpg")
    with pytest.raises(ObjectChanged):  # 412 on CopySourceIfMatch
        backend.copy("media/a.jpg", "media/b.jpg", '"0123"', "image/jpeg")
    with pytest.raises(ObjectChanged):  # 412 on If-Match
        backend.read("media/a.jpg", '"0123"', 1)
    assert s3_client.list_objects_v2(Bucket=s3_bucket, Prefix="media/b")["KeyCount"] == 0

    # The store's error, as botocore's client gives it.
    with pytest.raises(ClientError) as raised:
        backend.storage.store_call("copy_object", "media/b.jpg", CopySource="nowhere/x")
    assert raised.value.operation_name == "CopyObject"
    assert raised.value.response["Error"]["Code"] in ("NoSuchKey", "NoSuchBucket")


def test_an_empty_object_is_read_with_its_head(backend, s3_client, s3_bucket):
    s3_client.put_object(Bucket=s3_bucket, Key="media/empty.jpg", Body=b"")

    info, data = backend.read_first("media/empty.jpg", 100)  # 416, then HEAD

    assert (info.size, data) == (0, b"")


def test_a_key_without_the_permission_is_access_denied(backend, aws_key, s3_client, s3_bucket):
    s3_client.put_object(Bucket=s3_bucket, Key="media/sites/1/a.jpg", Body=b"abc")
    aws_key(without(readme_policy(s3_bucket), "s3:GetObject"))

    with pytest.raises(StorageAccessDenied):
        get_backend().read_first("media/sites/1/a.jpg", 10)


def test_the_guard_counts_failures_and_not_refusals(faulty_store, s3_client, s3_bucket, settings):
    settings.UPLOADS = {**settings.UPLOADS, "STORE_FAILURES": 2, "STORE_COOLDOWN": 60}
    backend = get_backend()
    breaker = store_guard(backend.storage.store_name).breaker
    s3_client.put_object(Bucket=s3_bucket, Key="media/a.jpg", Body=b"abc")

    faulty_store.refuse()
    with pytest.raises(StorageUnavailable):
        backend.read_first("media/a.jpg", 10)
    assert breaker.failures == 1, "one failure per call, its tries included"

    faulty_store.heal()
    with pytest.raises(ObjectMissing):
        backend.read_first("media/none.jpg", 10)
    assert breaker.failures == 0, "a 404 is a store that works"

    faulty_store.refuse()
    for _ in range(2):
        with pytest.raises(StorageUnavailable):
            backend.read_first("media/a.jpg", 10)
    assert breaker.is_open
    faulty_store.heal()
    sent = len(faulty_store.requests)
    with pytest.raises(StorageUnavailable):
        backend.read_first("media/a.jpg", 10)
    assert len(faulty_store.requests) == sent, "refused without a request"


def test_a_stalled_call_is_tried_as_often_as_the_clients(faulty_store, s3_client, s3_bucket):
    s3_client.put_object(Bucket=s3_bucket, Key="media/a.jpg", Body=b"abc")
    faulty_store.stall("GET")
    backend = get_backend()

    with pytest.raises(StorageUnavailable):
        backend.read_first("media/a.jpg", 10)

    tries = [r for r in faulty_store.requests if r.method == "GET"]
    assert len(tries) == backend.client.meta.config.retries["total_max_attempts"] == 2


def test_a_session_token_is_sent_and_signed(faulty_store, s3_bucket, settings):
    settings.AWS_SESSION_TOKEN = "a-session-token"
    backend = get_backend()

    with pytest.raises((ObjectMissing, StorageAccessDenied, StorageUnavailable)):
        # Whether SeaweedFS takes the token or not, the request carries it.
        backend.read_first("media/none.jpg", 10)

    headers = faulty_store.requests[-1].headers
    assert headers["x-amz-security-token"] == "a-session-token"
    assert "x-amz-security-token" in headers["authorization"]


def test_aws_buckets_are_addressed_by_virtual_host(settings):
    settings.AWS_STORAGE_BUCKET_NAME = "a-bucket"
    settings.AWS_S3_ENDPOINT_URL = None
    settings.AWS_S3_REGION_NAME = "eu-west-3"
    settings.AWS_ACCESS_KEY_ID = "key"
    settings.AWS_SECRET_ACCESS_KEY = "secret"
    target = S3MediaStorage().object_target()  # local: no request

    assert target.url == "https://a-bucket.s3.eu-west-3.amazonaws.com/"
    assert target.region == "eu-west-3"


def test_an_endpoint_is_addressed_by_path(s3_bucket, seaweedfs):
    target = S3MediaStorage().object_target()

    assert target.url == f"{seaweedfs.endpoint_url}/{s3_bucket}/"


def test_in_another_retry_mode_the_client_makes_the_calls(s3_bucket, s3_client, settings):
    settings.AWS_S3_RETRY_MODE = "adaptive"
    s3_client.put_object(Bucket=s3_bucket, Key="media/a.jpg", Body=b"abc")
    backend = get_backend()
    calls = []
    backend.client.meta.events.register("before-call.s3", lambda model, **kw: calls.append(model))

    info, data = backend.read_first("media/a.jpg", 2)

    assert (info.size, data) == (3, b"ab")
    assert [model.name for model in calls] == ["GetObject"]


@pytest.mark.parametrize("token", [None, "a-session-token"])
def test_urls_are_those_botocore_presigns(s3_bucket, settings, token):
    settings.AWS_SESSION_TOKEN = token
    storage = S3MediaStorage()
    name = ODD_KEY.removeprefix("media/")

    def botocores():
        return storage.signing_client.generate_presigned_url(
            "get_object",
            Params={"Bucket": s3_bucket, "Key": ODD_KEY},
            ExpiresIn=storage.querystring_expire,
        )

    for _ in range(3):  # signed within the same second
        before, url, after = botocores(), storage.url(name), botocores()
        if before == after:
            break
    assert url == before
    assert ("X-Amz-Security-Token=a-session-token" in url) == bool(token)


def test_a_url_serves_the_object(s3_bucket, s3_client):
    s3_client.put_object(Bucket=s3_bucket, Key=ODD_KEY, Body=b"abc")

    response = requests.get(S3MediaStorage().url(ODD_KEY.removeprefix("media/")), timeout=10)

    assert (response.status_code, response.content) == (200, b"abc")
