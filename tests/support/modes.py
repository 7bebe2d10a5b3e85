"""Switching a test between the storage modes through its settings: the
cached storages and the routes that depend on the mode are rebuilt."""

import importlib

from django.conf import settings
from django.urls import clear_url_caches

from project.storages import storages_for
from uploads.s3 import s3_enabled


def use_storages(settings):
    """Makes the storages follow the settings the test just changed: those
    of the mode the settings now name, as project/settings.py picks them.
    Assigning STORAGES makes Django drop the storages it made."""
    settings.STORAGES = storages_for(
        bucket=settings.AWS_STORAGE_BUCKET_NAME, static_in_bucket=settings.STATIC_IN_BUCKET
    )


# The routes made for each state of the settings they depend on.
_routes = {}


def reload_urlconf():
    """Routes that depend on settings (the emulator, media in DEBUG) are
    decided when the URLconf is imported: import it again, or put back the
    routes made the last time the settings were the same (hundreds of tests
    switch modes, and the admin's routes take milliseconds to make)."""
    import project.urls
    import uploads.urls

    state = (s3_enabled(), settings.DEBUG, settings.MEDIA_URL)
    if state in _routes:
        uploads.urls.urlpatterns, project.urls.urlpatterns = _routes[state]
    else:
        importlib.reload(uploads.urls)
        importlib.reload(project.urls)
        _routes[state] = uploads.urls.urlpatterns, project.urls.urlpatterns
    clear_url_caches()


def reload_urls_on_mode_change(*, setting, **kwargs):
    """A ``setting_changed`` receiver: the routes follow the mode."""
    if setting in ("AWS_STORAGE_BUCKET_NAME", "DEBUG"):
        reload_urlconf()
