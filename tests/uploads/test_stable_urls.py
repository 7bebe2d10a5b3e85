"""Image URLs that browsers and apps can cache: ``stable_url`` gives the same
URL for a whole window (``UPLOADS["URL_WINDOW"]``), signed with the window's
start and valid for two windows, and a real store (SeaweedFS) accepts it to
the end of that validity. The objects and the filesystem media view carry
long-lived ``Cache-Control``."""

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from unittest import mock
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import botocore.auth
import pytest
import requests
from django.core.checks import run_checks
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from inventory.storage import ProductImageStorage
from tests.support.images import jpeg
from tests.support.modes import use_storages
from tests.support.stores import S3Store
from tests.support.tickets import confirm, issue
from uploads.media import stable_url
from uploads.media_views import is_served
from uploads.s3 import window_start

NAME = "sites/4/products/a.jpg"
CACHE_CONTROL = "private, max-age=31536000, immutable"


@contextmanager
def clock_at(moment):
    """Django's clock, the one ``stable_url`` reads, stopped at ``moment``."""
    with mock.patch.object(timezone, "now", lambda: moment):
        yield


def query(url):
    return {key: value for key, (value,) in parse_qs(urlsplit(url).query).items()}


def signed_at(url):
    return datetime.strptime(query(url)["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def status_of(url):
    return requests.get(url, timeout=10).status_code


@pytest.fixture
def saved(s3_bucket):
    default_storage.save(NAME, ContentFile(b"private bytes"))
    return NAME


def this_window(window=3600):
    """The start of the real current window: URLs dated then are accepted now."""
    return window_start(timezone.now(), window)


class TestS3:
    def test_same_url_in_two_renders_a_second_apart(self, saved):
        start = this_window()
        with clock_at(start + timedelta(seconds=1)):
            first = stable_url(saved)
        with clock_at(start + timedelta(seconds=2)):
            second = stable_url(saved)
            # The same through a site's storage, as pages and the API reach it.
            through_site = ProductImageStorage(4).stable_url("a.jpg")

        assert first == second == through_site
        assert signed_at(first) == start
        assert query(first)["X-Amz-Expires"] == "7200"
        response = requests.get(first, timeout=10)
        assert response.status_code == 200
        assert response.content == b"private bytes"
        assert status_of(first.split("?")[0]) == 403, "the bucket stays private"

    def test_the_url_changes_with_the_window(self, saved, settings):
        settings.UPLOADS = {**settings.UPLOADS, "URL_WINDOW": 600}
        start = this_window(600)
        with clock_at(start + timedelta(seconds=599)):
            last = stable_url(saved)
        with clock_at(start + timedelta(seconds=600)):
            next_one = stable_url(saved)

        assert last != next_one
        assert signed_at(last) == start
        assert signed_at(next_one) == start + timedelta(seconds=600)
        assert query(next_one)["X-Amz-Expires"] == "1200"

    def test_a_url_still_works_near_the_end_of_its_validity(self, saved, settings):
        """The store checks expiry against its own clock, which cannot be
        moved: pick a window one of whose starts lies just over two windows
        ago, so that the URL it gives has seconds left."""
        now = int(timezone.now().timestamp())
        # A window with a boundary 10 to 20 s from now (room for a loaded
        # machine); the URL of the window two before it expires there.
        window = next(w for w in range(300, 3601) if (now + 20) % w < 10)
        settings.UPLOADS = {**settings.UPLOADS, "URL_WINDOW": window}
        boundary = now + 20 - (now + 20) % window
        start = datetime.fromtimestamp(boundary - 2 * window, tz=UTC)
        with clock_at(start + timedelta(seconds=window - 1)):
            url = stable_url(saved)

        expires_at = signed_at(url) + timedelta(seconds=int(query(url)["X-Amz-Expires"]))
        left = (expires_at - timezone.now()).total_seconds()
        assert 0 < left <= 20
        assert signed_at(url) == start
        assert status_of(url) == 200

        with clock_at(start - timedelta(seconds=1)):
            expired = stable_url(saved)
        assert status_of(expired) == 403, "the store does enforce the expiry"

    def test_urls_are_signed_for_the_public_address(self, saved, relay, settings):
        settings.AWS_S3_PUBLIC_ENDPOINT_URL = relay.url
        use_storages(settings)

        url = stable_url(saved)

        assert url.startswith(relay.url + "/")
        assert requests.get(url, timeout=10).content == b"private bytes"

    def test_custom_domain_gives_plain_urls(self, s3_bucket, settings):
        settings.AWS_S3_CUSTOM_DOMAIN = "cdn.example.com"
        use_storages(settings)

        assert stable_url(NAME) == "https://cdn.example.com/media/sites/4/products/a.jpg"

    def test_without_querystring_auth_plain_urls(self, saved, settings, seaweedfs, s3_bucket):
        settings.AWS_QUERYSTRING_AUTH = False
        use_storages(settings)

        assert stable_url(saved) == f"{seaweedfs.endpoint_url}/{s3_bucket}/media/{NAME}"


class TestCacheControl:
    def test_objects_copied_by_confirm_carry_it(self, s3_bucket, s3_client, api, product):
        store = S3Store(s3_client, s3_bucket)
        body = jpeg()
        ticket = issue(api, product, body)
        assert store.post(ticket["upload"], body) == 204

        key = confirm(api, ticket).json()["key"]

        head = s3_client.head_object(Bucket=s3_bucket, Key=key)
        assert head["CacheControl"] == CACHE_CONTROL
        assert requests.get(stable_url(key), timeout=10).headers["Cache-Control"] == CACHE_CONTROL

    def test_objects_saved_through_the_media_storage_carry_the_setting(
        self, s3_bucket, s3_client, settings
    ):
        """Renditions are written through the media storage: the one
        setting covers them and confirm's copies alike."""
        settings.UPLOADS = {**settings.UPLOADS, "CACHE_CONTROL": "private, max-age=60"}
        name = ProductImageStorage(4).save("b.webp", ContentFile(b"webp"))

        head = s3_client.head_object(Bucket=s3_bucket, Key=f"media/sites/4/products/{name}")
        assert head["CacheControl"] == "private, max-age=60"
        assert head["ContentDisposition"] == "inline"


class TestFilesystem:
    @pytest.fixture
    def media(self, local_media, settings, tmp_path):
        settings.DEBUG = True  # the dev server serves MEDIA_ROOT
        (local_media / "sites/4/products").mkdir(parents=True)
        (local_media / NAME).write_bytes(b"local bytes")
        (tmp_path / "secret.txt").write_text("not media")
        return local_media

    def test_plain_media_urls(self, media):
        assert stable_url(NAME) == "/media/sites/4/products/a.jpg"
        assert ProductImageStorage(4).stable_url("a.jpg") == "/media/sites/4/products/a.jpg"

    def test_the_media_view_sends_the_caching_headers(self, media, client):
        response = client.get(stable_url(NAME))

        assert response.status_code == 200
        assert b"".join(response.streaming_content) == b"local bytes"
        assert response["Cache-Control"] == CACHE_CONTROL
        assert response["Content-Type"] == "image/jpeg"

    @pytest.mark.parametrize(
        "path",
        [
            "/media/../secret.txt",
            "/media/%2e%2e/secret.txt",
            "/media/..%2fsecret.txt",
            "/media/sites/../../secret.txt",
            "/media/%2fetc/passwd",
            "/media/sites/4/products/missing.jpg",
            # A name longer than the file system takes (ENAMETOOLONG).
            pytest.param("/media/sites/4/products/" + "a" * 300, id="name-too-long"),
            pytest.param("/media/" + "a/" * 3000, id="path-too-long"),
        ],
    )
    def test_nothing_outside_media_root(self, media, client, path):
        client.raise_request_exception = False
        response = client.get(path)

        assert response.status_code == 404
        assert b"not media" not in response.content

    @pytest.mark.parametrize(
        "path",
        [
            "/media/sites/4/products/incoming/b.jpg",
            "/media/sites/4/products/x/../incoming/b.jpg",
            "/media/sites/4/products//incoming/b.jpg",
            "/media/.incoming-tmp/.upload-abc",
        ],
    )
    def test_no_upload_waiting_for_its_confirm_is_served(self, media, client, path):
        """In a bucket only the app reads them: bytes as the client sent
        them, not yet inspected, and no URL is made for them."""
        (media / "sites/4/products/incoming").mkdir()
        (media / "sites/4/products/incoming/b.jpg").write_bytes(b"<html>not inspected")
        (media / ".incoming-tmp").mkdir()
        (media / ".incoming-tmp/.upload-abc").write_bytes(b"<html>being received")

        response = client.get(path)

        assert response.status_code == 404
        assert "Cache-Control" not in response

    @pytest.mark.parametrize(
        "path, served",
        [
            (NAME, True),
            ("sites/4/products/renditions/a-thumb-200q80.webp", True),
            ("products/legacy.jpg", True),
            ("sites/4/products/incoming/b.jpg", False),
            ("sites/4/products/INCOMING/b.jpg", False),  # macOS finds it
            ("sites\\4\\products\\incoming\\b.jpg", False),  # Windows finds it
            ("sites/4/products/./incoming/b.jpg", False),
            (".incoming-tmp/.upload-abc", False),
        ],
    )
    def test_uploads_waiting_for_their_confirm_in_every_spelling(self, path, served):
        assert is_served(path) is served

    def test_nothing_serves_media_without_debug(self, media, client, settings):
        settings.DEBUG = False
        assert client.get(stable_url(NAME)).status_code == 404


@pytest.mark.parametrize("window", [0, -1, 302401, "3600", 1.5])
def test_check_refuses_a_window_the_store_would_refuse(settings, window):
    settings.UPLOADS = {**settings.UPLOADS, "URL_WINDOW": window}
    errors = [message for message in run_checks() if message.id == "uploads.E005"]
    assert len(errors) == 1
    assert "URL_WINDOW" in errors[0].msg


def test_check_accepts_the_longest_window(settings):
    settings.UPLOADS = {**settings.UPLOADS, "URL_WINDOW": 302400}
    assert not [message for message in run_checks() if message.id == "uploads.E005"]


@pytest.mark.parametrize("name", [NAME, "sites/4/products/é t+é (1).jpg"])
def test_the_signature_is_botocores_own(s3_bucket, name):
    """Dated at a given time, the URL is the one botocore's presigner gives
    at that time: the same canonical request, quoting and signature."""
    moment = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    storage = default_storage
    storage.save(name, ContentFile(b"x"))
    with mock.patch.object(
        botocore.auth, "get_current_datetime", lambda: moment.replace(tzinfo=None)
    ):
        presigned = storage.signing_client.generate_presigned_url(
            "get_object",
            Params={"Bucket": s3_bucket, "Key": f"media/{name}"},
            ExpiresIn=7200,
        )

    assert storage.url_signed_at(name, moment, 7200) == presigned
    with mock.patch.object(
        botocore.auth, "get_current_datetime", lambda: moment.replace(tzinfo=None)
    ):
        assert storage.url(name, expire=7200) == presigned, "undated: now"
    paris = moment.astimezone(ZoneInfo("Europe/Paris"))
    assert storage.url_signed_at(name, paris, 7200) == presigned
    with clock_at(this_window() + timedelta(seconds=1)):
        assert requests.get(stable_url(name), timeout=10).content == b"x"


def test_template_filter(s3_bucket):
    """Templates link a file field through ``|stable_url``: the same URL as
    ``stable_url(name)``, nothing for an empty field."""
    from django.db.models.fields.files import FieldFile
    from django.template import engines

    field = FieldFile(None, mock.Mock(storage=default_storage), NAME)
    render = engines["django"].from_string("{% load media_urls %}[{{ file|stable_url }}]").render

    with clock_at(this_window() + timedelta(seconds=1)):
        assert render({"file": field}) == f"[{stable_url(NAME)}]".replace("&", "&amp;")
        assert render({"file": NAME}) == render({"file": field})
    assert render({"file": FieldFile(None, mock.Mock(storage=default_storage), "")}) == "[]"
    assert render({"file": None}) == "[]"
