"""
Object operations of the upload flow, over a bucket or over ``MEDIA_ROOT``.

Both backends implement ``uploads.backends.base.UploadBackend``, whose
docstrings state the contract; callers get one from ``get_backend`` and
rely on nothing else.
"""

from uploads.s3 import s3_enabled


def get_backend(timeout=None):
    """The backend of the current storage mode; ``timeout`` bounds each
    call to one short try (see ``UploadBackend``)."""
    if s3_enabled():
        from uploads.backends.s3 import S3UploadBackend

        return S3UploadBackend(timeout)
    from uploads.backends.local import LocalUploadBackend

    return LocalUploadBackend(timeout)
