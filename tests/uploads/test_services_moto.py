"""Fast unit tests of the services and the S3 backend on moto. moto does
not enforce POST policies, so objects are put directly; policy enforcement
is proven against SeaweedFS in test_policy.py."""

import pytest
from moto import mock_aws

from tests.support.images import jpeg, noisy
from tests.support.modes import use_storages
from tests.support.stores import bucket_keys
from uploads import services
from uploads.backends import get_backend
from uploads.errors import InvalidImage, NotFound, UploadMissing
from uploads.models import UploadTicket

BUCKET = "moto-media"


@pytest.fixture
def moto_s3(settings):
    with mock_aws():
        settings.AWS_STORAGE_BUCKET_NAME = BUCKET
        settings.AWS_ACCESS_KEY_ID = "moto-key"
        settings.AWS_SECRET_ACCESS_KEY = "moto-secret"
        settings.AWS_S3_ENDPOINT_URL = None
        settings.AWS_S3_REGION_NAME = "eu-west-3"
        use_storages(settings)
        backend = get_backend()
        backend.client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"}
        )
        yield backend


def put(backend, key, body):
    backend.client.put_object(Bucket=BUCKET, Key=key, Body=body)


def keys(backend):
    """The bucket's keys, but for renditions (see ``bucket_keys``)."""
    return bucket_keys(backend.client, BUCKET)


def test_issue_and_confirm(moto_s3, staff, product, django_capture_on_commit_callbacks):
    body = jpeg((50, 40))
    issued = services.issue_ticket(
        staff, kind="product", object_id=product.pk, content_type="image/jpeg", size=len(body)
    )
    assert issued.upload["url"].startswith(f"https://{BUCKET}.s3.eu-west-3.amazonaws.com")
    put(moto_s3, issued.ticket.incoming_key, body)

    with django_capture_on_commit_callbacks(execute=True):
        ticket = services.confirm_ticket(staff, issued.ticket.pk)

    assert (ticket.width, ticket.height, ticket.format) == (50, 40, "jpeg")
    assert keys(moto_s3) == [ticket.final_key]
    head = moto_s3.client.head_object(Bucket=BUCKET, Key=ticket.final_key)
    assert head["ContentType"] == "image/jpeg"
    assert head["CacheControl"] == "private, max-age=31536000, immutable"
    product.refresh_from_db()
    assert product.image.name == ticket.final_key.removeprefix("media/")


def test_confirm_reads_only_the_header(moto_s3, staff, product, settings, monkeypatch):
    settings.UPLOADS = {**settings.UPLOADS, "INSPECT_BYTES": 1024}
    body = noisy("PNG")
    assert len(body) > 100_000
    issued = services.issue_ticket(
        staff, kind="product", object_id=product.pk, content_type="image/png", size=len(body)
    )
    put(moto_s3, issued.ticket.incoming_key, body)
    reads = []
    backend_class = type(moto_s3)
    first, more = backend_class.read_first, backend_class.read

    def spy_first(self, key, length):
        info, data = first(self, key, length)
        reads.append(len(data))
        return info, data

    def spy_more(self, key, etag, length=None, start=0):
        data = more(self, key, etag, length, start)
        reads.append(len(data))
        return data

    monkeypatch.setattr(backend_class, "read_first", spy_first)
    monkeypatch.setattr(backend_class, "read", spy_more)
    confirmed = services.confirm_ticket(staff, issued.ticket.pk)
    assert reads == [1024]
    assert confirmed.status == "confirmed"


def test_rejection_deletes_the_object(moto_s3, staff, product, django_capture_on_commit_callbacks):
    body = b"not an image at all"
    issued = services.issue_ticket(
        staff, kind="product", object_id=product.pk, content_type="image/jpeg", size=len(body)
    )
    put(moto_s3, issued.ticket.incoming_key, body)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(InvalidImage):
        services.confirm_ticket(staff, issued.ticket.pk)

    assert keys(moto_s3) == []
    assert UploadTicket.objects.get().error_code == "invalid_image"


def test_missing_upload(moto_s3, staff, product):
    issued = services.issue_ticket(
        staff, kind="product", object_id=product.pk, content_type="image/jpeg", size=10
    )
    with pytest.raises(UploadMissing):
        services.confirm_ticket(staff, issued.ticket.pk)
    assert UploadTicket.objects.get().status == "issued"


def test_services_hide_other_sites(moto_s3, make_user, sites, product):
    stranger = make_user("stranger", sites[1])
    with pytest.raises(NotFound):
        services.issue_ticket(
            stranger, kind="product", object_id=product.pk, content_type="image/jpeg", size=10
        )


def test_display_filename_strips_controls_and_paths():
    assert services.display_filename("../../a\x00b\u202ec.png") == "abc.png"
    assert len(services.display_filename("x" * 5000)) == 255
