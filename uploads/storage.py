"""
Storage classes for user media, laid out per site.

One layout in both modes::

    S3 key                               file on disk
    media/sites/<site_id>/products/x     MEDIA_ROOT/sites/<site_id>/products/x
    media/sites/<site_id>/config/x       MEDIA_ROOT/sites/<site_id>/config/x
    media/sites/default/...              (objects that belong to no site)

Model fields use the default storage (``MediaStorage``) and hold names
relative to the media root, such as ``sites/3/products/<uuid>.jpg``, so
``.url``, ``.open()`` and ``.delete()`` work from the field in either mode.
The site storages (``ProductImageStorage(site_id)``, ``SiteLogoStorage``) are
rooted at one site's folder; ``media_name()`` turns their names back into
field names.

Each public class picks its S3 or filesystem variant when it is
instantiated, from the settings of that moment (S3 when
``AWS_STORAGE_BUCKET_NAME`` is set). Nothing is decided at import time, so a
site is always resolved per call and tests can switch modes.
"""

import functools
import os
import posixpath
import threading
import uuid

from botocore.config import Config
from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage
from django.utils.module_loading import import_string
from storages.backends.s3 import S3Storage
from storages.utils import clean_name
from whitenoise.storage import CompressedStaticFilesStorage

from uploads.conf import upload_settings
from uploads.guard import guard_client

DEFAULT_SITE_FOLDER = "default"
S3_MEDIA_LOCATION = "media"
S3_STATIC_LOCATION = "static"


def s3_enabled():
    return bool(getattr(settings, "AWS_STORAGE_BUCKET_NAME", ""))


def media_key(name):
    """The bucket key of a name relative to the media root."""
    return f"{S3_MEDIA_LOCATION}/{name}"


def media_name_of(key):
    """The name relative to the media root (as model fields store it) of a
    bucket key; ``ValueError`` for a key outside ``media/``."""
    prefix = S3_MEDIA_LOCATION + "/"
    if not key.startswith(prefix):
        raise ValueError(f"Key outside the media root: {key!r}")
    return key[len(prefix) :]


def site_folder(site_id, folder):
    """The folder of one site's files, relative to the media root.

    ``site_id`` goes into a path, so only whole numbers are accepted; ``None``
    maps to the shared ``default`` folder.
    """
    if site_id is None:
        return posixpath.join("sites", DEFAULT_SITE_FOLDER, folder)
    if isinstance(site_id, bool) or not str(site_id).isdigit():
        raise ValueError(f"Invalid site id: {site_id!r}")
    return posixpath.join("sites", str(int(site_id)), folder)


def site_upload_path(site_id, folder, filename):
    """A fresh, unguessable name in a site's folder; only a short, plain
    extension of the client's file name survives."""
    extension = os.path.splitext(filename or "")[1].lower()
    if not (2 <= len(extension) <= 6 and extension[1:].isascii() and extension[1:].isalnum()):
        extension = ""
    return posixpath.join(site_folder(site_id, folder), uuid.uuid4().hex + extension)


class MediaStorage(Storage):
    """The root of user media: ``media/`` in the bucket, ``MEDIA_ROOT`` on disk."""

    def __new__(cls, *args, **kwargs):
        # The public classes stand for their S3 or filesystem variant.
        variants = _VARIANTS.get(cls)
        concrete = variants[s3_enabled()] if variants else cls
        return super(MediaStorage, concrete).__new__(concrete, *args, **kwargs)

    @property
    def folder(self):
        """This storage's root, relative to the media root ('' for the root)."""
        return ""

    def name_prefixes(self):
        """Prefixes a caller may have left on a name already.

        The old app stored full keys in fields and let the storage add its
        location again (``.../site-7/assets/products/site-7/...``). A name
        that already carries this storage's root, as a bucket key or as a
        media-relative name, is taken as it is instead of being prefixed twice.
        """
        key_prefix = posixpath.join(S3_MEDIA_LOCATION, self.folder).rstrip("/") + "/"
        if not self.folder:
            return (key_prefix,)
        return (key_prefix, self.folder + "/")

    def relative_name(self, name):
        """``name`` relative to this storage's root."""
        name = name.replace("\\", "/").lstrip("/")
        for prefix in self.name_prefixes():
            if name.startswith(prefix):
                return name[len(prefix) :]
        return name

    def media_name(self, name):
        """The name to store in a model field: relative to the media root."""
        return posixpath.join(self.folder, self.relative_name(name))

    def save(self, name, content, max_length=None):
        if name is not None:
            name = self.relative_name(name)
        return super().save(name, content, max_length=max_length)


class SiteStorage(MediaStorage):
    """One site's folder of one kind (``folder_name``)."""

    folder_name = None

    def __init__(self, site_id=None, **kwargs):
        self.site_id = site_id
        self._folder = site_folder(site_id, self.folder_name)
        super().__init__(**kwargs)

    @property
    def folder(self):
        return self._folder


class ProductImageStorage(SiteStorage):
    """``media/sites/<site_id>/products/``"""

    folder_name = "products"


class SiteLogoStorage(SiteStorage):
    """``media/sites/<site_id>/config/``"""

    folder_name = "config"


# --- The two backends -------------------------------------------------------

_shared_resources = threading.local()
_shared_clients = {}
_shared_clients_lock = threading.Lock()

# The bounds of every call to the store, unless the settings give others
# (AWS_S3_CONNECT_TIMEOUT, AWS_S3_READ_TIMEOUT, AWS_S3_MAX_ATTEMPTS,
# AWS_S3_RETRY_MODE). botocore's own (60 s to connect, 60 s per read, up to
# 4 tries) let a stalled store hold a request for minutes; with these a
# call gives up after about 2 x (2 + 2) s and one pause between its tries.
STORE_BOUNDS = {
    "connect_timeout": 2,
    "read_timeout": 2,
    # Tries per call, the first included.
    "max_attempts": 2,
    "retry_mode": "standard",
}


def store_bounds():
    """The bounds of store calls, as the settings give them."""
    return {
        name: getattr(settings, f"AWS_S3_{name.upper()}", default)
        for name, default in STORE_BOUNDS.items()
    }


@functools.lru_cache
def client_config(
    addressing_style,
    signature_version="s3v4",
    *,
    connect_timeout=STORE_BOUNDS["connect_timeout"],
    read_timeout=STORE_BOUNDS["read_timeout"],
    max_attempts=STORE_BOUNDS["max_attempts"],
    retry_mode=STORE_BOUNDS["retry_mode"],
):
    """The botocore configuration of every client of the store: the app's,
    the health check's, the commands', the migration's and the local
    SeaweedFS helper's are all made here."""
    return Config(
        signature_version=signature_version,
        s3={"addressing_style": addressing_style},
        # boto3 >= 1.36 adds CRC checksums to every request by default, which
        # S3-compatible stores reject or mishandle.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"total_max_attempts": max_attempts, "mode": retry_mode},
    )


@functools.lru_cache
def merged_config(config, custom):
    """``custom`` (``AWS_S3_CLIENT_CONFIG``) over ``config``, made once, so
    that storages share their clients (see ``S3Connection.connection``)."""
    return config.merge(custom)


class S3Connection(S3Storage):
    """S3Storage with a client configured for S3-compatible stores, bounded
    and guarded (``uploads.guard``), and shared between instances.

    ``AWS_S3_PUBLIC_ENDPOINT_URL`` is the store's address as browsers and
    phones reach it, when it differs from ``AWS_S3_ENDPOINT_URL``, the one
    the app uses (``http://s3:8333`` inside a compose network, say). URLs
    handed to clients are then made for, and signed for, the public address.

    ``connect_timeout``, ``read_timeout``, ``max_attempts`` and
    ``retry_mode`` come from the ``AWS_S3_*`` settings of the same names, or
    from arguments (the health check's are shorter).
    """

    def __init__(self, **kwargs):
        self.public_endpoint_url = kwargs.pop("public_endpoint_url", None) or getattr(
            settings, "AWS_S3_PUBLIC_ENDPOINT_URL", None
        )
        super().__init__(**kwargs)
        # AWS_S3_CLIENT_CONFIG (or a client_config argument) is merged over
        # this configuration, not put in its place: calls stay bounded.
        self.client_config = self.get_client_config(
            kwargs.get("client_config") or getattr(settings, "AWS_S3_CLIENT_CONFIG", None)
        )

    def get_default_settings(self):
        return {**super().get_default_settings(), **store_bounds()}

    def get_client_config(self, custom=None):
        # S3-compatible stores are addressed by path, AWS by virtual host.
        config = client_config(
            self.addressing_style or ("path" if self.endpoint_url else "virtual"),
            self.signature_version or "s3v4",
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_attempts=self.max_attempts,
            retry_mode=self.retry_mode,
        )
        return merged_config(config, custom) if custom else config

    @property
    def connection(self):
        """A boto3 resource shared by every storage with the same settings,
        for django-storages' own operations.

        Site storages are created per request; building a boto3 session for
        each would cost tens of milliseconds and a connection pool apiece.
        Resources are not thread-safe, so the cache is per thread.
        """
        cache = getattr(_shared_resources, "cache", None)
        if cache is None:
            cache = _shared_resources.cache = {}
        key = self.connection_key(self.endpoint_url)
        resource = cache.get(key)
        if resource is None:
            resource = cache[key] = self._create_session().resource(
                "s3", **self.client_arguments(self.endpoint_url)
            )
            guard_client(resource.meta.client, self.store_name)
        return resource

    @property
    def client(self):
        """A boto3 client shared by every thread of the process: clients
        are thread-safe, and making one per thread (about 0.1 s of CPU
        each) would make a worker's first requests wait on each other.
        Confirm, the checks and the commands call the store with it."""
        return self.shared_client(self.endpoint_url)

    @property
    def signing_client(self):
        """The client that makes URLs for clients: presigned GETs and POSTs.
        Signing is local, so the public address need not be reachable from
        here."""
        return self.shared_client(self.public_endpoint_url or self.endpoint_url)

    @property
    def store_name(self):
        """The store, as its guard knows it (uploads.guard)."""
        return self.endpoint_url or f"s3.{self.region_name}"

    def connection_key(self, endpoint_url):
        return (
            self.access_key,
            self.secret_key,
            self.security_token,
            self.session_profile,
            self.region_name,
            endpoint_url,
            self.use_ssl,
            self.verify,
            self.client_config,  # the object itself: kept alive, so no id reuse
        )

    def client_arguments(self, endpoint_url):
        return {
            "region_name": self.region_name,
            "use_ssl": self.use_ssl,
            "endpoint_url": endpoint_url,
            "config": self.client_config,
            "verify": self.verify,
        }

    def shared_client(self, endpoint_url):
        key = self.connection_key(endpoint_url)
        with _shared_clients_lock:  # the first threads wait for one client
            client = _shared_clients.get(key)
            if client is None:
                client = _shared_clients[key] = self._create_session().client(
                    "s3", **self.client_arguments(endpoint_url)
                )
                guard_client(client, self.store_name)
        return client

    def url(self, name, parameters=None, expire=None, http_method=None):
        if self.custom_domain or not self.querystring_auth:
            url = super().url(name, parameters, expire, http_method)
            if self.public_endpoint_url and not self.custom_domain:
                # Unsigned: the same URL at the public address.
                url = self.public_endpoint_url + url.removeprefix(self.endpoint_url)
            return url
        params = {
            **(parameters or {}),
            "Bucket": self.bucket_name,
            "Key": self._normalize_name(clean_name(name)),
        }
        return self.signing_client.generate_presigned_url(
            "get_object",
            Params=params,
            ExpiresIn=self.querystring_expire if expire is None else expire,
            HttpMethod=http_method,
        )


class S3Backend(S3Connection):
    """The bucket half of the media classes: a location below ``media/``."""

    def __init__(self, **kwargs):
        kwargs.setdefault("location", posixpath.join(S3_MEDIA_LOCATION, self.folder).rstrip("/"))
        super().__init__(**kwargs)

    def _normalize_name(self, name):
        return super()._normalize_name(self.relative_name(name))


class LocalBackend(FileSystemStorage):
    """The disk half of the media classes: a folder below ``MEDIA_ROOT``."""

    def __init__(self, **kwargs):
        kwargs.setdefault("location", os.path.join(settings.MEDIA_ROOT, self.folder))
        kwargs.setdefault(
            "base_url",
            settings.MEDIA_URL + (self.folder + "/" if self.folder else ""),
        )
        super().__init__(**kwargs)

    def path(self, name):
        return super().path(self.relative_name(name))

    def url(self, name):
        return super().url(self.relative_name(name))


class S3MediaStorage(MediaStorage, S3Backend):
    pass


class LocalMediaStorage(MediaStorage, LocalBackend):
    pass


class S3ProductImageStorage(ProductImageStorage, S3Backend):
    pass


class LocalProductImageStorage(ProductImageStorage, LocalBackend):
    pass


class S3SiteLogoStorage(SiteLogoStorage, S3Backend):
    pass


class LocalSiteLogoStorage(SiteLogoStorage, LocalBackend):
    pass


def static_in_bucket():
    return s3_enabled() and getattr(settings, "STATIC_IN_BUCKET", True)


class StaticStorage(Storage):
    """Static files: ``static/`` in the bucket in S3 mode (unless
    ``STATIC_IN_BUCKET`` is off), otherwise ``STATIC_ROOT`` served by
    whitenoise."""

    def __new__(cls, *args, **kwargs):
        concrete = cls
        if cls is StaticStorage:
            concrete = S3StaticStorage if static_in_bucket() else LocalStaticStorage
        return super(StaticStorage, concrete).__new__(concrete, *args, **kwargs)


class S3StaticStorage(StaticStorage, S3Connection):
    def __init__(self, **kwargs):
        kwargs.setdefault("location", S3_STATIC_LOCATION)
        # collectstatic replaces files in place.
        kwargs.setdefault("file_overwrite", True)
        super().__init__(**kwargs)


class LocalStaticStorage(StaticStorage, CompressedStaticFilesStorage):
    pass


# (filesystem variant, S3 variant), indexed by s3_enabled().
_VARIANTS = {
    MediaStorage: (LocalMediaStorage, S3MediaStorage),
    ProductImageStorage: (LocalProductImageStorage, S3ProductImageStorage),
    SiteLogoStorage: (LocalSiteLogoStorage, S3SiteLogoStorage),
}

SITE_STORAGES = {
    "product": ProductImageStorage,
    "logo": SiteLogoStorage,
}


def get_user_site_id(user):
    """The site ``user`` works for, via ``UPLOADS["SITE_RESOLVER"]`` (a dotted
    path to ``f(user) -> site id or None``); else ``user.site_id``."""
    resolver = upload_settings.SITE_RESOLVER
    if resolver:
        return import_string(resolver)(user)
    return getattr(user, "site_id", None)


def get_current_site_storage(request, kind):
    """The storage of ``kind`` (``"product"`` or ``"logo"``) for the site of
    the requesting user; users without a site get the ``default`` folder."""
    try:
        storage_class = SITE_STORAGES[kind]
    except KeyError:
        raise ValueError(
            f"Unknown storage kind {kind!r}; expected one of {sorted(SITE_STORAGES)}."
        ) from None
    return storage_class(get_user_site_id(request.user))
