"""The IAM policy the README recommends, read from README.md, against every
documented command, each run through an ``IamGate``: SeaweedFS answering as
AWS does for a key limited by that policy. Each command works, nothing it
asks is refused, and every grant of the policy is used by one of them."""

import io
import os
import time
from datetime import timedelta
from fnmatch import fnmatchcase

import pytest
import requests
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from inventory.models import Product
from project.buckets import cors_rule
from tests.support import legacy
from tests.support.iam import readme_policy
from tests.support.images import jpeg, png
from tests.support.stores import bucket_keys
from uploads.keys import media_key
from uploads.models import RenditionSet, UploadTicket

ORIGIN = "https://shop.example.com"


@pytest.fixture
def policy(s3_bucket):
    return readme_policy(s3_bucket)


@pytest.fixture
def gate(policy, aws_key, s3_bucket, s3_client, settings, tmp_path):
    # Set up as init_bucket does, with the admin key: CORS for the pages.
    s3_client.put_bucket_cors(
        Bucket=s3_bucket, CORSConfiguration={"CORSRules": [cors_rule([ORIGIN])]}
    )
    settings.CSRF_TRUSTED_ORIGINS = [ORIGIN]
    settings.STATIC_IN_BUCKET = True  # the default in S3 mode
    # One folder of static files, not the apps' hundreds: what collectstatic
    # asks of the store is the same for one file, and each costs requests.
    settings.STATICFILES_DIRS = [("extra", tmp_path / "static")]
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]
    (tmp_path / "static").mkdir()
    return aws_key(policy)


def command(name, *args):
    out = io.StringIO()
    call_command(name, *args, stdout=out, stderr=out)
    return out.getvalue()


def upload(api, product, body):
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
    stored = requests.post(
        ticket["upload"]["url"],
        data=ticket["upload"]["fields"],
        files={"file": ("photo.jpg", body, "image/jpeg")},
        timeout=30,
    )
    assert stored.status_code == 204, stored.text
    return ticket


def use_the_app(site, make_user, s3_client, s3_bucket, task_worker):
    """Tickets, uploads, confirms, image URLs, a replaced image (deleted by
    the task worker), health."""
    api = APIClient()
    api.force_authenticate(make_user("staff", site))
    product = Product.objects.create(site_configuration=site, name="Riz", cug="R-1")
    early = api.post(
        "/api/uploads/tickets/",
        {"kind": "product", "object_id": product.pk, "content_type": "image/jpeg", "size": 10},
        format="json",
    ).json()
    too_soon = api.post(f"/api/uploads/tickets/{early['id']}/confirm/")
    assert too_soon.status_code == 409, too_soon.json()

    first = upload(api, product, jpeg(color=(200, 0, 0)))
    assert api.post(f"/api/uploads/tickets/{first['id']}/confirm/").status_code == 200
    body = jpeg(color=(0, 0, 200))
    second = upload(api, product, body)
    confirmed = api.post(f"/api/uploads/tickets/{second['id']}/confirm/").json()

    assert requests.get(confirmed["url"], timeout=10).content == body
    task_worker()
    keys = bucket_keys(s3_client, s3_bucket, renditions=True)
    assert confirmed["key"] in keys
    product.refresh_from_db()
    renditions = RenditionSet.objects.get(original=product.image.name).variants.values()
    current = {confirmed["key"], *(media_key(variant["name"]) for variant in renditions)}
    kept = [key for key in keys if "/products/" in key and key not in current]
    assert not kept, "the replaced image, its renditions and the incoming objects are deleted"
    assert len(keys) > 1, "the renditions were written"
    assert Client().get("/healthz").json()["checks"]["storage"] == "ok"
    return api, product


def purge(api, product):
    abandoned = upload(api, product, jpeg())
    never_uploaded = api.post(
        "/api/uploads/tickets/",
        {"kind": "product", "object_id": product.pk, "content_type": "image/jpeg", "size": 10},
        format="json",
    ).json()
    UploadTicket.objects.filter(pk__in=[abandoned["id"], never_uploaded["id"]]).update(
        expires_at=timezone.now() - timedelta(hours=2)
    )
    output = command("purge_uploads")
    assert "Deleted 2 expired ticket(s) and 1 object(s)." in output, output
    assert "would not say" not in output


def collect_static(tmp_path):
    extra = tmp_path / "static" / "note.txt"
    extra.write_text("first")
    command("collectstatic", "--noinput")
    # A newer source replaces its copy: collectstatic deletes it first.
    extra.write_text("second")
    later = time.time() + 3600
    os.utime(extra, (later, later))
    output = command("collectstatic", "--noinput", "-v", "2")
    assert "Deleting 'note.txt'" in output, output


def migrate_old_images(site_one, site_two, s3_client, s3_bucket):
    """The old app's layout, as the README's migration statement lists it."""
    files = legacy.BucketFiles(s3_client, s3_bucket)
    old = {
        "products/a.jpg": (site_one, "products/a.jpg"),
        f"assets/products/site-{site_one.pk}/b.jpg": (
            site_one,
            f"assets/products/site-{site_one.pk}/assets/products/site-{site_one.pk}/b.jpg",
        ),
        "media/products/d.jpg": (None, "products/d.jpg"),
        f"media/assets/products/site-{site_two.pk}/g.jpg": (
            site_two,
            f"assets/products/site-{site_two.pk}/g.jpg",
        ),
    }
    products = []
    for key, (site, name) in old.items():
        body = jpeg(color=(len(products) * 60, 90, 90))
        files.put(key, body)
        product = Product.objects.create(site_configuration=site, name=key, cug=key)
        legacy.set_name(product, name)
        products.append((product, body))
    files.put("assets/logos/site-default/logo.png", png((60, 20)))
    legacy.set_name(site_one, "assets/logos/site-default/logo.png")

    output = command("migrate_images_to_multisite")
    assert "Migrated: 5 row(s)" in output and "Failed: 0" in output, output
    output = command("migrate_images_to_multisite", "--delete-source")
    assert "Sources deleted: 5" in output, output

    for product, body in products:
        product.refresh_from_db()
        assert files.read(product.image.name) == body
    assert not [
        key
        for key in bucket_keys(s3_client, s3_bucket)
        if not key.startswith(("media/sites/", "static/"))
    ], "every old key is gone"
    site_one.refresh_from_db()
    assert site_one.logo.name.startswith(f"sites/{site_one.pk}/config/")


@pytest.mark.renditions
def test_every_documented_command_works_with_the_readmes_policy_and_needs_all_of_it(
    gate,
    policy,
    sites,
    make_user,
    s3_client,
    s3_bucket,
    settings,
    tmp_path,
    transactional_db,
    task_worker,
):
    site_one, site_two = sites
    api, product = use_the_app(site_one, make_user, s3_client, s3_bucket, task_worker)
    purge(api, product)
    output = command("check_storage")
    assert "[FAIL]" not in output and "The store is ready." in output, output
    collect_static(tmp_path)
    migrate_old_images(site_one, site_two, s3_client, s3_bucket)

    assert gate.denied() == [], "the README's policy refused what a command needs"
    granted = gate.requests
    for statement in policy["Statement"]:
        actions, resources = statement["Action"], statement["Resource"]
        for action in [actions] if isinstance(actions, str) else actions:
            for resource in [resources] if isinstance(resources, str) else resources:
                assert any(
                    asked == action and fnmatchcase(on, resource) for asked, on, _ in granted
                ), f"{statement['Sid']}: no command needs {action} on {resource}"


def test_init_bucket_with_the_apps_key_says_it_needs_an_admin_key(db, gate, s3_bucket):
    with pytest.raises(CommandError) as refused:
        command("init_bucket")

    assert f"Could not set up bucket {s3_bucket}" in str(refused.value)
    assert "run init_bucket once with an admin key" in str(refused.value)
