"""The storage classes in both modes: exact keys in a real bucket (SeaweedFS)
and exact paths on disk. The site storages follow the default storage, so
each mode's fixture (``s3_bucket``, ``local_media``) is the only switch."""

import pytest
import requests
from botocore.config import Config
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import SuspiciousOperation
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from whitenoise.storage import CompressedStaticFilesStorage

from inventory.storage import ProductImageStorage, SiteLogoStorage
from tests.support.stores import bucket_keys, disk_files
from uploads.keys import site_folder, site_upload_path
from uploads.media import LocalMediaStorage, S3MediaStorage, SiteStorage
from uploads.static import S3StaticStorage

SITE_CASES = [
    # storage class, site id, folder relative to the media root
    (ProductImageStorage, 1, "sites/1/products"),
    (ProductImageStorage, 2, "sites/2/products"),
    (ProductImageStorage, None, "sites/default/products"),
    (SiteLogoStorage, 1, "sites/1/config"),
    (SiteLogoStorage, 2, "sites/2/config"),
    (SiteLogoStorage, None, "sites/default/config"),
]


def fetch(url):
    response = requests.get(url, timeout=10)
    response.raise_for_status()
    return response.content


class TestS3Mode:
    @pytest.mark.parametrize("storage_class, site_id, folder", SITE_CASES)
    def test_site_storage_round_trip(self, s3_bucket, s3_client, storage_class, site_id, folder):
        storage = storage_class(site_id)
        assert isinstance(storage, storage_class)

        name = storage.save("photo.jpg", ContentFile(b"jpeg bytes"))

        assert name == "photo.jpg"
        assert bucket_keys(s3_client, s3_bucket) == [f"media/{folder}/photo.jpg"]
        assert storage.media_name(name) == f"{folder}/photo.jpg"
        with storage.open(name) as handle:
            assert handle.read() == b"jpeg bytes"
        assert fetch(storage.url(name)) == b"jpeg bytes"

        storage.delete(name)
        assert bucket_keys(s3_client, s3_bucket) == []

    def test_media_storage_round_trip(self, s3_bucket, s3_client):
        storage = default_storage

        name = storage.save("sites/3/products/x.png", ContentFile(b"png"))

        assert name == "sites/3/products/x.png"
        assert bucket_keys(s3_client, s3_bucket) == ["media/sites/3/products/x.png"]
        assert fetch(storage.url(name)) == b"png"
        storage.delete(name)
        assert bucket_keys(s3_client, s3_bucket) == []

    def test_default_storage_is_media_storage(self, s3_bucket):
        assert isinstance(default_storage, S3MediaStorage)

    def test_urls_are_presigned_and_the_bucket_is_private(self, s3_bucket, seaweedfs):
        storage = ProductImageStorage(4)
        name = storage.save("a.jpg", ContentFile(b"private"))
        url = storage.url(name)

        assert "X-Amz-Signature=" in url
        plain = f"{seaweedfs.endpoint_url}/{s3_bucket}/media/sites/4/products/a.jpg"
        assert url.startswith(plain + "?")
        assert requests.get(plain, timeout=10).status_code == 403
        assert fetch(url) == b"private"

    def test_custom_domain_gives_plain_urls(self, s3_bucket, settings):
        settings.AWS_S3_CUSTOM_DOMAIN = "cdn.example.com"
        storage = SiteLogoStorage(2)
        assert storage.url("logo.png") == "https://cdn.example.com/media/sites/2/config/logo.png"

    def test_a_key_is_never_prefixed_twice(self, s3_bucket, s3_client):
        storage = ProductImageStorage(3)
        for name in ("sites/3/products/a.jpg", "media/sites/3/products/b.jpg"):
            storage.save(name, ContentFile(b"x"))
        default_storage.save("media/sites/3/products/c.jpg", ContentFile(b"x"))

        assert bucket_keys(s3_client, s3_bucket) == [
            "media/sites/3/products/a.jpg",
            "media/sites/3/products/b.jpg",
            "media/sites/3/products/c.jpg",
        ]
        assert storage.exists("media/sites/3/products/c.jpg")
        assert (
            storage.url("sites/3/products/a.jpg")
            .split("?")[0]
            .endswith("/media/sites/3/products/a.jpg")
        )

    def test_existing_names_are_not_overwritten(self, s3_bucket, s3_client):
        storage = ProductImageStorage(1)
        first = storage.save("same.jpg", ContentFile(b"one"))
        second = storage.save("same.jpg", ContentFile(b"two"))
        assert first != second
        assert len(bucket_keys(s3_client, s3_bucket)) == 2

    def test_cannot_escape_the_site_folder(self, s3_bucket):
        with pytest.raises(SuspiciousOperation):
            ProductImageStorage(1).save("../../2/products/x.jpg", ContentFile(b"x"))

    def test_instances_share_one_connection(self, s3_bucket):
        assert S3MediaStorage().connection is S3StaticStorage().connection
        assert S3MediaStorage().client is S3StaticStorage().client


class TestFilesystemMode:
    @pytest.mark.parametrize("storage_class, site_id, folder", SITE_CASES)
    def test_site_storage_round_trip(self, local_media, client, storage_class, site_id, folder):
        storage = storage_class(site_id)
        assert isinstance(storage, storage_class)

        name = storage.save("photo.jpg", ContentFile(b"jpeg bytes"))

        assert name == "photo.jpg"
        assert disk_files(local_media) == [f"{folder}/photo.jpg"]
        assert (local_media / folder / "photo.jpg").read_bytes() == b"jpeg bytes"
        assert storage.path(name) == str(local_media / folder / "photo.jpg")
        assert storage.media_name(name) == f"{folder}/photo.jpg"
        with storage.open(name) as handle:
            assert handle.read() == b"jpeg bytes"
        assert storage.url(name) == f"/media/{folder}/photo.jpg"

        storage.delete(name)
        assert disk_files(local_media) == []

    def test_default_storage_is_media_storage(self, local_media):
        assert isinstance(default_storage, LocalMediaStorage)

    def test_media_storage_round_trip(self, local_media):
        storage = default_storage

        name = storage.save("sites/3/products/x.png", ContentFile(b"png"))

        assert disk_files(local_media) == ["sites/3/products/x.png"]
        assert storage.url(name) == "/media/sites/3/products/x.png"
        storage.delete(name)
        assert disk_files(local_media) == []

    def test_a_path_is_never_prefixed_twice(self, local_media):
        storage = SiteLogoStorage(5)
        storage.save("sites/5/config/a.png", ContentFile(b"x"))
        storage.save("media/sites/5/config/b.png", ContentFile(b"x"))
        assert disk_files(local_media) == ["sites/5/config/a.png", "sites/5/config/b.png"]
        assert storage.url("sites/5/config/a.png") == "/media/sites/5/config/a.png"

    def test_cannot_escape_the_site_folder(self, local_media):
        with pytest.raises(SuspiciousOperation):
            SiteLogoStorage(1).save("../../2/config/x.png", ContentFile(b"x"))

    def test_media_root_setting_is_read_at_instantiation(self, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path / "elsewhere"
        ProductImageStorage(1).save("x.jpg", ContentFile(b"x"))
        assert (tmp_path / "elsewhere/sites/1/products/x.jpg").exists()


@pytest.mark.parametrize("site_id", [-1, "1/../2", "abc", True, 1.5])
def test_site_folder_refuses_odd_ids(site_id):
    with pytest.raises(ValueError):
        site_folder(site_id, "products")


def test_site_folder_accepts_numeric_strings():
    assert site_folder("7", "products") == "sites/7/products"


@pytest.mark.parametrize(
    "filename, extension",
    [
        ("photo.JPG", ".jpg"),
        ("logo.png", ".png"),
        ("../../etc/passwd", ""),
        ("x.ph\u200fp", ""),
        ("archive.tar.gz", ".gz"),
        ("noextension", ""),
        ("a." + "x" * 40, ""),
    ],
)
def test_upload_path_keeps_only_a_plain_extension(filename, extension):
    path = site_upload_path(9, "products", filename)
    folder, _, base = path.rpartition("/")
    assert folder == "sites/9/products"
    assert base.endswith(extension)
    assert len(base) == 32 + len(extension)


def test_static_storage_in_the_bucket(s3_bucket, s3_client):
    storage = staticfiles_storage
    assert isinstance(storage, S3StaticStorage)
    storage.save("admin/css/base.css", ContentFile(b"body{}"))
    storage.save("admin/css/base.css", ContentFile(b"body{color:red}"))  # collectstatic again

    assert bucket_keys(s3_client, s3_bucket) == ["static/admin/css/base.css"]
    assert fetch(storage.url("admin/css/base.css")) == b"body{color:red}"


def test_static_storage_on_disk(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    storage = staticfiles_storage
    assert isinstance(storage, CompressedStaticFilesStorage)
    storage.save("admin/css/base.css", ContentFile(b"body{}"))
    assert (tmp_path / "static/admin/css/base.css").read_bytes() == b"body{}"
    assert storage.url("admin/css/base.css") == "/static/admin/css/base.css"


def test_a_site_storage_of_any_folder_follows_the_default_storage(settings, local_media, tmp_path):
    storage = SiteStorage(4, "avatars")
    assert storage.save("me.png", ContentFile(b"x")) == "me.png"
    assert disk_files(local_media) == ["sites/4/avatars/me.png"]

    settings.MEDIA_ROOT = tmp_path / "elsewhere"
    assert not storage.exists("me.png")
    storage.save("me.png", ContentFile(b"y"))
    assert (tmp_path / "elsewhere/sites/4/avatars/me.png").read_bytes() == b"y"


def test_a_site_storage_over_another_media_storage(local_media, tmp_path):
    media = LocalMediaStorage(location=tmp_path / "other", base_url="/other/")
    storage = SiteStorage(None, "avatars", media=media)

    name = storage.save("me.png", ContentFile(b"x"))

    assert (tmp_path / "other/sites/default/avatars/me.png").read_bytes() == b"x"
    assert storage.url(name) == "/other/sites/default/avatars/me.png"
    assert disk_files(local_media) == []


def test_a_site_storage_needs_a_folder():
    with pytest.raises(ValueError, match="needs a folder name"):
        SiteStorage(1)


class TestConnectionSettings:
    """Every setting of the connection is read in ``get_default_settings()``,
    and an argument of the same name overrides it, as in django-storages."""

    def test_settings_are_the_defaults(self, s3_bucket, settings):
        settings.AWS_S3_PUBLIC_ENDPOINT_URL = "https://files.example.com"
        settings.AWS_S3_CONNECT_TIMEOUT = 1.5
        settings.AWS_S3_MAX_ATTEMPTS = 3

        storage = S3MediaStorage()

        assert storage.public_endpoint_url == "https://files.example.com"
        assert storage.client_config.connect_timeout == 1.5
        assert storage.client_config.retries == {"total_max_attempts": 3, "mode": "standard"}
        assert storage.client_config.s3 == {"addressing_style": "path"}

    def test_arguments_override_the_settings(self, s3_bucket):
        storage = S3MediaStorage(public_endpoint_url="https://x.example.com", read_timeout=0.5)

        assert storage.public_endpoint_url == "https://x.example.com"
        assert storage.client_config.read_timeout == 0.5
        assert storage.client_config.connect_timeout == 2

    def test_a_client_config_is_merged_over_the_bounds(self, s3_bucket, settings):
        settings.AWS_S3_CLIENT_CONFIG = Config(user_agent_extra="shop", read_timeout=7)

        config = S3MediaStorage().client_config

        assert config.user_agent_extra == "shop"
        assert config.read_timeout == 7
        assert config.connect_timeout == 2
        assert config.request_checksum_calculation == "when_required"
