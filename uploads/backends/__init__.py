"""
Object operations of the upload flow, over a bucket or over ``MEDIA_ROOT``.

Both backends take keys as the bucket sees them (``media/sites/3/...``) and
offer the same calls: ``presign_post``, ``head``, ``read``, ``copy``,
``delete``. Only ``presign_post`` is free of I/O.
"""

from uploads.s3 import s3_enabled


def get_backend():
    """The backend of the current storage mode."""
    if s3_enabled():
        from uploads.backends.s3 import S3UploadBackend

        return S3UploadBackend()
    from uploads.backends.local import LocalUploadBackend

    return LocalUploadBackend()
