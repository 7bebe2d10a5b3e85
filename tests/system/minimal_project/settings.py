"""
A second project that uses ``uploads`` as any project would: DRF's defaults
(no ``REST_FRAMEWORK`` setting at all), no ``inventory``, no ``project``, and
one toy upload target. ``check_contract.py`` runs the upload contract in it;
``tests/system/test_minimal_project.py`` runs that in a process of its own
per storage mode.

The environment picks the mode: S3 when ``AWS_STORAGE_BUCKET_NAME`` is set
(with the ``AWS_*`` variables below), the filesystem under
``MINIMAL_MEDIA_ROOT`` otherwise.
"""

import os

SECRET_KEY = "minimal-project-for-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "uploads",
    "tests.system.minimal_project.toy",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
ROOT_URLCONF = "tests.system.minimal_project.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

MEDIA_ROOT = os.environ.get("MINIMAL_MEDIA_ROOT", "")
MEDIA_URL = "/media/"
AWS_STORAGE_BUCKET_NAME = os.environ.get("AWS_STORAGE_BUCKET_NAME", "")
# The media storage of the mode: the bucket's when there is one.
STORAGES = {
    "default": {
        "BACKEND": "uploads.media.S3MediaStorage"
        if AWS_STORAGE_BUCKET_NAME
        else "uploads.media.LocalMediaStorage"
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
AWS_ACCESS_KEY_ID = os.environ.get("AWS_ACCESS_KEY_ID", "")
AWS_SECRET_ACCESS_KEY = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
AWS_S3_ENDPOINT_URL = os.environ.get("AWS_S3_ENDPOINT_URL")
AWS_S3_REGION_NAME = os.environ.get("AWS_S3_REGION_NAME", "us-east-1")
