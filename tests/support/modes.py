"""Switching a test between the storage modes through its settings: the
cached storages and the routes that depend on the mode are rebuilt."""

import importlib

from django.urls import clear_url_caches


def use_storages(settings):
    """Makes the storages follow the settings the test just changed."""
    # Assigning STORAGES makes Django drop its cached default storage, which
    # then picks the mode of the settings below.
    settings.STORAGES = {**settings.STORAGES}


def reload_urlconf():
    """Routes that depend on settings (the emulator, media in DEBUG) are
    decided when the URLconf is imported: import it again."""
    import project.urls
    import uploads.urls

    importlib.reload(uploads.urls)
    importlib.reload(project.urls)
    clear_url_caches()


def reload_urls_on_mode_change(*, setting, **kwargs):
    """A ``setting_changed`` receiver: the routes follow the mode."""
    if setting in ("AWS_STORAGE_BUCKET_NAME", "DEBUG"):
        reload_urlconf()
