"""check_storage against SeaweedFS (with and without CORS, with wrong
credentials) and against the local disk."""

import io

import pytest
from django.core.management import CommandError, call_command

from project.buckets import cors_rule
from uploads import diagnostics

ORIGIN = "https://shop.example.com"


def check_storage(*args):
    out = io.StringIO()
    try:
        call_command("check_storage", *args, stdout=out)
        failed = False
    except CommandError:
        failed = True
    return failed, out.getvalue()


@pytest.fixture
def bucket_with_cors(s3_bucket, s3_client):
    s3_client.put_bucket_cors(
        Bucket=s3_bucket, CORSConfiguration={"CORSRules": [cors_rule([ORIGIN])]}
    )
    return s3_bucket


def test_a_ready_bucket_passes_every_check(bucket_with_cors, settings):
    failed, output = check_storage("--origin", ORIGIN, "--site", "3")

    assert not failed, output
    assert f"Mode: S3: bucket {bucket_with_cors} at {settings.AWS_S3_ENDPOINT_URL}" in output
    for name in ("Credentials and bucket", "CORS", "Policy enforced", "Round trip"):
        assert f"[ok] {name}:" in output
    assert "refused (403)" in output
    assert "media/sites/3/check/" in output
    assert settings.AWS_SECRET_ACCESS_KEY not in output
    assert "AWS_SECRET_ACCESS_KEY    ********" in output


def test_check_leaves_nothing_in_the_bucket(bucket_with_cors, s3_client):
    check_storage("--origin", ORIGIN)

    assert s3_client.list_objects_v2(Bucket=bucket_with_cors).get("KeyCount", 0) == 0


def test_a_bucket_without_cors_fails_and_says_what_to_add(s3_bucket):
    failed, output = check_storage("--origin", ORIGIN)

    assert failed
    assert f"[FAIL] CORS: the bucket does not let pages from {ORIGIN} POST and GET" in output
    assert "Fix: Add a CORS rule" in output
    assert "[ok] Round trip" in output


def test_origins_default_to_the_trusted_origins(bucket_with_cors, settings):
    settings.CSRF_TRUSTED_ORIGINS = [ORIGIN, "https://other.example.com"]

    failed, output = check_storage()

    assert failed
    assert "pages from https://other.example.com POST" in output


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"),
        ("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"),
    ],
)
def test_wrong_credentials_name_the_setting_to_fix(bucket_with_cors, settings, setting, named):
    setattr(settings, setting, "wrong-" + getattr(settings, setting))

    failed, output = check_storage("--origin", ORIGIN)

    assert failed
    assert "[FAIL] Credentials and bucket" in output
    assert f"fix {named}" in output
    assert "[skip] Round trip: the bucket cannot be reached" in output


def test_a_missing_bucket_says_so(bucket_with_cors, settings):
    settings.AWS_STORAGE_BUCKET_NAME = "no-such-bucket-here"

    failed, output = check_storage("--origin", ORIGIN)

    assert failed
    assert "There is no such bucket" in output


def test_a_store_that_ignores_policies_fails(bucket_with_cors, monkeypatch):
    # As moto does: any form is accepted.
    monkeypatch.setattr(diagnostics, "post_form", lambda *args: (204, ""))

    failed, output = check_storage("--origin", ORIGIN)

    assert failed
    assert "[FAIL] Policy enforced: the store accepted a form for another key" in output


def test_local_disk(settings):
    failed, output = check_storage()

    assert not failed, output
    assert f"Mode: filesystem: {settings.MEDIA_ROOT}" in output
    assert "[ok] Policy enforced: the emulator refuses a form for another key" in output
    assert "[ok] Round trip" in output


def test_unwritable_media_root_fails(settings, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    settings.MEDIA_ROOT = blocker / "media"

    failed, output = check_storage()

    assert failed
    assert "[FAIL] Round trip" in output and "Make MEDIA_ROOT writable" in output
