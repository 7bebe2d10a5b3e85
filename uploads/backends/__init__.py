"""
Object operations of the upload flow, over a bucket or over ``MEDIA_ROOT``.

Both backends implement ``uploads.backends.base.UploadBackend``, whose
docstrings state the contract; callers get one from ``get_backend`` and
rely on nothing else.
"""

from django.core.signals import setting_changed

from uploads.s3 import s3_enabled

# The backend with the settings' bounds, made once per process: making one
# reads every storage setting (about a tenth of a ticket's CPU). Backends
# keep no state between calls, and share their boto3 clients anyway.
_default = None


def get_backend(timeout=None):
    """The backend of the current storage mode; ``timeout`` bounds each
    call to one short try (see ``UploadBackend``)."""
    global _default
    if timeout is not None:
        return make_backend(timeout)
    if _default is None:
        _default = make_backend(None)
    return _default


def make_backend(timeout):
    if s3_enabled():
        from uploads.backends.s3 import S3UploadBackend

        return S3UploadBackend(timeout)
    from uploads.backends.local import LocalUploadBackend

    return LocalUploadBackend(timeout)


def forget_backend(**kwargs):
    """Settings changed (tests, mode switches): make the next one anew."""
    global _default
    _default = None


setting_changed.connect(forget_backend, dispatch_uid="uploads.backends.forget_backend")
