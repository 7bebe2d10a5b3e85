"""
The ``STORAGES`` setting of each storage mode.

S3 when a bucket is named (``AWS_STORAGE_BUCKET_NAME``), the filesystem
otherwise; static files go to the bucket too unless ``STATIC_IN_BUCKET`` is
off, and are served by whitenoise when they do not. The settings call this
once; tests that switch modes call it again with the settings of the moment
(assigning ``STORAGES`` makes Django drop the storages it made), so both
name the classes by the same rule. No Django import: the settings module
imports it.
"""

S3_MEDIA = "uploads.media.S3MediaStorage"
LOCAL_MEDIA = "uploads.media.LocalMediaStorage"
S3_STATIC = "uploads.static.S3StaticStorage"
SERVED_STATIC = "whitenoise.storage.CompressedStaticFilesStorage"


def storages_for(*, bucket, static_in_bucket):
    """``STORAGES`` for a deployment with ``bucket`` (or none)."""
    return {
        "default": {"BACKEND": S3_MEDIA if bucket else LOCAL_MEDIA},
        "staticfiles": {"BACKEND": S3_STATIC if bucket and static_in_bucket else SERVED_STATIC},
    }
