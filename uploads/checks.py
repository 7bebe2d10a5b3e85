"""
Checks of the storage configuration, run by ``manage.py check``.

A bucket configured without credentials would otherwise work until the first
upload and then fail with a boto3 traceback; here it stops ``check``,
``migrate`` and ``runserver`` with the name of the setting to fix.
"""

import re

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.utils.module_loading import import_string

BUCKET_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
REGION_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
HINT = "Set it in the environment or in .env (see .env.example)."


@register(Tags.compatibility)
def check_storage_settings(app_configs, **kwargs):
    bucket = getattr(settings, "AWS_STORAGE_BUCKET_NAME", "")
    if not bucket:
        return []
    errors = []
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        if not getattr(settings, name, ""):
            errors.append(
                Error(
                    f"AWS_STORAGE_BUCKET_NAME is set, so uploads go to the bucket "
                    f"{bucket!r}, but {name} is empty.",
                    hint=f"{HINT} To use the local filesystem instead, unset "
                    "AWS_STORAGE_BUCKET_NAME.",
                    id="uploads.E001",
                )
            )
    if not BUCKET_NAME_RE.match(bucket) or ".." in bucket:
        errors.append(
            Error(
                f"AWS_STORAGE_BUCKET_NAME {bucket!r} is not a valid bucket name.",
                hint="Use 3 to 63 lowercase letters, digits, dots and hyphens.",
                id="uploads.E002",
            )
        )
    region = getattr(settings, "AWS_S3_REGION_NAME", "")
    if not region or not REGION_RE.match(region):
        errors.append(
            Error(
                f"AWS_S3_REGION_NAME {region!r} is not a region name.",
                hint="For example eu-west-3; S3-compatible stores accept any "
                "lowercase name such as us-east-1.",
                id="uploads.E003",
            )
        )
    return errors


# The hint of the checks of the default storage (uploads.E004, E006).
USE_THE_MEDIA_STORAGES = (
    "Use uploads.media.S3MediaStorage with a bucket, uploads.media.LocalMediaStorage without one"
)


def default_storage_class():
    """``(dotted path, class)`` of ``STORAGES["default"]``; the class is
    ``None`` if it does not import, which Django reports."""
    backend = settings.STORAGES.get("default", {}).get("BACKEND", "")
    try:
        return backend, import_string(backend)
    except ImportError:
        return backend, None


@register(Tags.compatibility)
def check_default_storage_matches_the_mode(app_configs, **kwargs):
    """The upload flow works on the bucket when ``AWS_STORAGE_BUCKET_NAME``
    is set, and confirmed files are read through the default storage: both
    must be the same store, or confirmed images would be looked for where
    they are not."""
    from uploads.media import S3MediaStorage
    from uploads.s3 import s3_enabled

    backend, storage_class = default_storage_class()
    if storage_class is None:
        return []
    in_bucket = issubclass(storage_class, S3MediaStorage)
    if in_bucket == s3_enabled():
        return []
    if s3_enabled():
        problem = f"AWS_STORAGE_BUCKET_NAME is set, but STORAGES['default'] is {backend}."
    else:
        problem = f"STORAGES['default'] is {backend}, but AWS_STORAGE_BUCKET_NAME is empty."
    return [
        Error(
            problem,
            hint=f"{USE_THE_MEDIA_STORAGES}.",
            id="uploads.E004",
        )
    ]


@register(Tags.compatibility)
def check_default_storage_overwrites(app_configs, **kwargs):
    """The worker writes each rendition over the earlier one in one step,
    with the default storage's ``overwrite(name, content)``
    (``uploads.renditions.store``), which Django's storages lack: a project
    whose default storage is another one would see every upload succeed,
    then every image's renditions fail, in the worker, each after its
    retries. Said at start-up instead, with the way out.

    Not ``save``, as a fallback: a storage's ``save`` either picks another
    name when the name is taken (Django's, django-storages' by default),
    or writes the file in place (``FileSystemStorage(allow_overwrite=
    True)``), where a reader may find it half written; and deleting first
    loses the rendition a set made meanwhile names."""
    backend, storage_class = default_storage_class()
    if storage_class is None or callable(getattr(storage_class, "overwrite", None)):
        return []
    return [
        Error(
            f"STORAGES['default'] is {backend}, which has no overwrite(name, content): "
            "every image's renditions would fail in the task worker.",
            hint=f"{USE_THE_MEDIA_STORAGES}; or give your storage an overwrite(name, content) that "
            "writes the file at that name over any earlier one, in one step "
            "(see uploads.media).",
            id="uploads.E006",
        )
    ]


@register(Tags.security, deploy=True)
def check_filesystem_mode_in_production(app_configs, **kwargs):
    """Filesystem mode is for development and tests, never production: its
    emulator makes the app server receive every image's bytes (the very
    thing direct uploads avoid), and nothing serves ``MEDIA_ROOT`` with
    DEBUG off. ``check --deploy`` says so; the README's Security model
    explains why."""
    from uploads.s3 import s3_enabled

    if s3_enabled() or settings.DEBUG:
        return []
    return [
        Warning(
            "No bucket is configured (filesystem mode): uploads go through this "
            "server's upload emulator, which is for development and tests only.",
            hint="Set AWS_STORAGE_BUCKET_NAME and its credentials for production "
            "(a single server can run SeaweedFS beside the app, as docker-compose.yml does).",
            id="uploads.W001",
        )
    ]


# S3 refuses a presigned URL valid for more than a week (SigV4's limit).
MAX_PRESIGNED_SECONDS = 7 * 24 * 3600


@register(Tags.compatibility)
def check_url_window(app_configs, **kwargs):
    """``stable_url`` signs for two windows: a window over half a week would
    give URLs the store refuses, every one of them, from the first."""
    from uploads.conf import upload_settings

    window = upload_settings.URL_WINDOW
    if type(window) is int and 1 <= window <= MAX_PRESIGNED_SECONDS // 2:
        return []
    return [
        Error(
            f"UPLOADS['URL_WINDOW'] is {window!r}: expected a whole number of seconds "
            f"from 1 to {MAX_PRESIGNED_SECONDS // 2}.",
            hint="Image URLs are valid for two windows, and S3 refuses URLs valid "
            "for more than a week.",
            id="uploads.E005",
        )
    ]
