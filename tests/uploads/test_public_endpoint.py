"""AWS_S3_PUBLIC_ENDPOINT_URL: clients reach the store at one address, the
app at another (http://s3:8333 inside docker compose). Here the public
address is a TCP relay in front of SeaweedFS that counts who goes through
it: the client's requests do, the app's never."""

import pytest
import requests
from rest_framework.test import APIClient

from inventory.models import Product
from tests.support.images import jpeg
from tests.support.modes import use_storages
from uploads.media import S3MediaStorage
from uploads.uploader import upload


@pytest.fixture
def public(relay, s3_bucket, settings):
    settings.AWS_S3_PUBLIC_ENDPOINT_URL = relay.url
    use_storages(settings)
    return relay


def test_clients_use_the_public_address_and_the_app_the_internal_one(
    public, settings, sites, make_user, transactional_db
):
    api = APIClient()
    api.force_authenticate(make_user("staff", sites[0]))
    product = Product.objects.create(site_configuration=sites[0], name="Riz", cug="R-1")
    body = jpeg((320, 240))
    ticket = api.post(
        "/api/uploads/tickets/",
        {
            "kind": "product",
            "object_id": product.pk,
            "content_type": "image/jpeg",
            "size": len(body),
        },
        format="json",
    ).json()

    assert ticket["upload"]["url"].startswith(public.url + "/")
    stored = requests.post(
        ticket["upload"]["url"],
        data=ticket["upload"]["fields"],
        files={"file": ("riz.jpg", body, "image/jpeg")},
        timeout=30,
    )
    assert stored.status_code == 204, stored.text
    through_relay = public.connections

    confirmed = api.post(f"/api/uploads/tickets/{ticket['id']}/confirm/")

    assert confirmed.status_code == 200, confirmed.json()
    assert public.connections == through_relay, "the app went through the public address"
    image_url = confirmed.json()["url"]
    assert image_url.startswith(public.url + "/") and "X-Amz-Signature" in image_url
    image = requests.get(image_url, timeout=10)
    assert image.status_code == 200
    assert image.content == body
    assert public.connections > through_relay


def test_a_url_signed_for_the_internal_address_fails_at_the_public_one(
    relay, s3_bucket, s3_client, settings
):
    s3_client.put_object(Bucket=s3_bucket, Key="media/sites/1/products/x.jpg", Body=b"x")
    internal_url = S3MediaStorage().url("sites/1/products/x.jpg")
    settings.AWS_S3_PUBLIC_ENDPOINT_URL = relay.url
    use_storages(settings)
    public_url = S3MediaStorage().url("sites/1/products/x.jpg")

    assert requests.get(internal_url, timeout=10).status_code == 200
    moved = relay.url + internal_url.removeprefix(settings.AWS_S3_ENDPOINT_URL)
    assert requests.get(moved, timeout=10).status_code == 403, "the host is part of the signature"
    assert requests.get(public_url, timeout=10).content == b"x"


def test_the_server_uploads_at_the_internal_address(
    public, sites, make_user, transactional_db, s3_client, s3_bucket
):
    """A command uploading as a client (seed_demo) may run where the public
    address is not the store (inside a compose network)."""
    product = Product.objects.create(site_configuration=sites[0], name="Riz", cug="R-1")
    body = jpeg((320, 240))

    ticket = upload(
        make_user("staff", sites[0]),
        kind="product",
        object_id=product.pk,
        body=body,
        content_type="image/jpeg",
    )

    assert public.connections == 0, "the server went through the public address"
    assert s3_client.get_object(Bucket=s3_bucket, Key=ticket.final_key)["Body"].read() == body
