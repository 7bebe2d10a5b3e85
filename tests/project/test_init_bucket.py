"""init_bucket against SeaweedFS: the bucket, its CORS, and lifecycle rules
that expire abandoned uploads, without touching anyone else's rules."""

import io
import uuid

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from inventory.models import Product
from tests.support.modes import use_storages
from tests.support.processes import run_manage
from tests.support.stores import ACCESS_KEY, REGION, SECRET_KEY

ORIGIN = "https://shop.example.com"


@pytest.fixture
def new_bucket(s3_bucket, settings):
    settings.AWS_STORAGE_BUCKET_NAME = f"init-{uuid.uuid4().hex[:12]}"
    use_storages(settings)
    return settings.AWS_STORAGE_BUCKET_NAME


def init_bucket(*args):
    out = io.StringIO()
    call_command("init_bucket", *args, stdout=out)
    return out.getvalue()


def rules_of(client, bucket):
    rules = client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    return {rule["Filter"]["Prefix"]: rule for rule in rules}


def test_creates_the_bucket_with_cors_and_expiry_rules(new_bucket, s3_client, sites):
    output = init_bucket("--origin", ORIGIN)

    assert f"Created bucket {new_bucket}" in output
    cors = s3_client.get_bucket_cors(Bucket=new_bucket)["CORSRules"]
    assert cors[0]["AllowedOrigins"] == [ORIGIN]
    assert {"GET", "POST"} <= set(cors[0]["AllowedMethods"])
    rules = rules_of(s3_client, new_bucket)
    expected = {
        f"media/sites/{site}/{folder}/incoming/"
        for site in ["default", *(s.pk for s in sites)]
        for folder in ("config", "products")
    }
    assert set(rules) == expected
    assert all(rule["Expiration"] == {"Days": 2} for rule in rules.values())


def test_every_upload_waits_under_a_prefix_that_expires(
    new_bucket, s3_client, sites, make_user, transactional_db
):
    init_bucket()
    api = APIClient()
    api.force_authenticate(make_user("staff", sites[1]))
    product = Product.objects.create(site_configuration=sites[1], name="Mil", cug="M-1")

    ticket = api.post(
        "/api/uploads/tickets/",
        {"kind": "product", "object_id": product.pk, "content_type": "image/png", "size": 10},
        format="json",
    ).json()

    key = ticket["upload"]["fields"]["key"]
    assert any(key.startswith(prefix) for prefix in rules_of(s3_client, new_bucket))


def test_rerun_keeps_other_rules_and_zero_days_removes_ours(new_bucket, s3_client, sites):
    init_bucket()
    theirs = {
        "ID": "archive-exports",
        "Status": "Enabled",
        "Filter": {"Prefix": "exports/"},
        "Expiration": {"Days": 30},
    }
    current = s3_client.get_bucket_lifecycle_configuration(Bucket=new_bucket)["Rules"]
    s3_client.put_bucket_lifecycle_configuration(
        Bucket=new_bucket, LifecycleConfiguration={"Rules": [*current, theirs]}
    )

    assert f"Found bucket {new_bucket}" in init_bucket("--expire-incoming-days", "7")
    rules = rules_of(s3_client, new_bucket)
    assert rules["exports/"]["Expiration"] == {"Days": 30}
    assert rules["media/sites/default/products/incoming/"]["Expiration"] == {"Days": 7}

    init_bucket("--expire-incoming-days", "0")
    assert set(rules_of(s3_client, new_bucket)) == {"exports/"}


def test_needs_a_bucket(db):
    with pytest.raises(CommandError, match="no bucket"):
        init_bucket()


@pytest.mark.process
def test_on_a_database_not_migrated_yet_says_so_and_leaves_the_bucket_alone(
    seaweedfs, s3_client, tmp_path
):
    """What an operator, or a compose one-shot started too early, sees on a
    fresh machine; the same command succeeds once migrate has run."""
    bucket = f"init-{uuid.uuid4().hex[:12]}"
    store = {
        "AWS_STORAGE_BUCKET_NAME": bucket,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_S3_ENDPOINT_URL": seaweedfs.endpoint_url,
        "AWS_S3_REGION_NAME": REGION,
    }

    early = run_manage(tmp_path, "init_bucket", **store)

    assert early.returncode == 1
    assert "run `manage.py migrate` first" in early.stderr
    assert "Traceback" not in early.stderr
    assert bucket not in [b["Name"] for b in s3_client.list_buckets()["Buckets"]]

    assert run_manage(tmp_path, "migrate", **store).returncode == 0
    later = run_manage(tmp_path, "init_bucket", **store)
    assert later.returncode == 0, later.stderr
    assert f"Created bucket {bucket}" in later.stdout
