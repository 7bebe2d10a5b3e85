"""check_storage against SeaweedFS (with and without CORS, with wrong
credentials, with the clients' address apart from the app's, with a key
missing a permission as AWS answers it) and against the local disk."""

import http.server
import io
import socket
import threading

import pytest
from django.core.management import CommandError, call_command

from project.buckets import cors_rule
from tests.support.iam import readme_policy, without
from tests.support.modes import use_storages
from uploads.diagnostics import s3 as s3_diagnosis

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
    for name in ("Credentials and bucket", "Missing keys", "CORS", "Policy enforced", "Round trip"):
        assert f"[ok] {name}:" in output
    assert "refused (403)" in output
    assert "media/sites/3/check/" in output
    assert settings.AWS_SECRET_ACCESS_KEY not in output
    assert "AWS_SECRET_ACCESS_KEY      ********" in output


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
    monkeypatch.setattr(s3_diagnosis, "post_form", lambda *args: (204, ""))

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


# --- The clients' address apart from the app's (docker compose) ---------------


def unused_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_clients_address_unreachable_from_here_is_said_and_not_failed(bucket_with_cors, settings):
    # Inside the app container, http://localhost:8333 is the container itself.
    public = f"http://localhost:{unused_port()}"
    settings.AWS_S3_PUBLIC_ENDPOINT_URL = public
    use_storages(settings)

    failed, output = check_storage("--origin", ORIGIN)

    assert not failed, output
    assert "[ok] Policy enforced: a form for another key was refused (403)" in output
    assert f"[skip] Public address: {public}, where clients upload, cannot be reached" in output
    assert "says nothing about browsers and phones" in output
    assert (
        f"Check: From a browser or phone on the clients' network, open "
        f"{public}/{bucket_with_cors}/ :" in output
    )
    assert "'localhost' is each device's own address" in output


def test_a_reachable_clients_address_is_tried_and_the_policy_at_the_apps(
    bucket_with_cors, relay, settings, s3_client
):
    settings.AWS_S3_PUBLIC_ENDPOINT_URL = relay.url
    use_storages(settings)

    failed, output = check_storage("--origin", ORIGIN)

    assert not failed, output
    assert (
        f"[ok] Public address: a form posted to {relay.url}, where clients upload, "
        f"reached bucket {bucket_with_cors}" in output
    )
    assert relay.connections == 1, "only the public address check goes through it"
    assert s3_client.list_objects_v2(Bucket=bucket_with_cors).get("KeyCount", 0) == 0


class NotAStore(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.send_response(404)
        self.send_header("Content-Length", "9")
        self.end_headers()
        self.wfile.write(b"Not found")

    def log_message(self, *args):
        pass


@pytest.fixture
def not_a_store():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotAStore)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_clients_address_leading_elsewhere_fails(bucket_with_cors, not_a_store, settings):
    settings.AWS_S3_PUBLIC_ENDPOINT_URL = not_a_store
    use_storages(settings)

    failed, output = check_storage("--origin", ORIGIN)

    assert failed
    assert f"[FAIL] Public address: the store at {not_a_store} refused a valid form (404)" in output
    assert "Fix: AWS_S3_PUBLIC_ENDPOINT_URL must be the address where clients reach" in output


# --- A key missing a permission, as AWS answers it ------------------------------


def test_a_key_that_may_not_read_cors_is_told_what_to_grant(bucket_with_cors, aws_key):
    aws_key(without(readme_policy(bucket_with_cors), "s3:GetBucketCORS"))

    failed, output = check_storage("--origin", ORIGIN)

    assert failed
    assert (
        "[FAIL] CORS: the credentials may not read the bucket's CORS rules (s3:GetBucketCORS)"
        in output
    )
    assert f"Fix: Grant s3:GetBucketCORS on arn:aws:s3:::{bucket_with_cors}" in output
    assert "[ok] Round trip" in output


def test_a_key_that_may_not_list_is_told_what_to_grant(bucket_with_cors, aws_key):
    aws_key(without(readme_policy(bucket_with_cors), "s3:ListBucket"))

    failed, output = check_storage("--origin", ORIGIN)

    assert failed
    assert "[ok] Credentials and bucket" in output
    assert "[FAIL] Missing keys: the store answers 403, not 404, for a missing key" in output
    assert f"Fix: Grant s3:ListBucket on arn:aws:s3:::{bucket_with_cors}" in output
    assert "[ok] CORS" in output and "[ok] Round trip" in output
