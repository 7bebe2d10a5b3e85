"""
The ``UPLOADS`` setting, read once and cached, like DRF's ``api_settings``.

``upload_settings.TICKET_TTL`` and so on; a test's ``override_settings``
(or pytest-django's ``settings`` fixture) clears the cache. Settings that
name a function by dotted path (``IMPORT_STRINGS``) are imported once, on
first use, and cached with the rest.
"""

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

MIB = 1024 * 1024

DEFAULTS = {
    # Seconds a ticket's upload policy stays valid.
    "TICKET_TTL": 600,
    # Seconds after expiry during which an upload that arrived may still be
    # confirmed: a slow upload may finish after the policy expired.
    "CONFIRM_GRACE": 300,
    # Open (issued, unexpired) tickets one user may hold.
    "MAX_OPEN_TICKETS": 20,
    # Ticket requests per user (a DRF rate, None for no limit), unless the
    # project's REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] names the
    # "upload_tickets" scope (uploads.api.throttles).
    "TICKET_RATE": "120/hour",
    # Target limits, unless a target declares its own.
    "MAX_SIZE": 10 * MIB,
    "MAX_PIXELS": 40_000_000,
    "MAX_SIDE": 12_000,
    # Bytes of an object read to inspect its header at confirm: enough for
    # nearly every header (a JPEG's or PNG's larger metadata is skipped by
    # ranged reads, uploads.inspect.jpeg_header), and with the requests around
    # them under the 64 KiB a direct upload may cost the server (issue 17).
    "INSPECT_BYTES": 48 * 1024,
    # Decode the whole image at confirm (reads the whole object).
    "FULL_DECODE": False,
    # Pin x-amz-checksum-sha256 in the policy when the client sends sha256.
    # Turn off for a store that rejects checksum fields in POST forms.
    "PIN_CHECKSUM": True,
    # Headers the server sets on every object it writes for good (confirm's
    # copy, renditions), and the filesystem media view sends.
    # - private: only the browser's or the app's own cache keeps an image.
    #   The bucket is private and a presigned URL is a credential that
    #   lapses; a shared cache (a proxy, a CDN in front of the signed URLs)
    #   would go on serving it to whoever holds the URL after it expired.
    #   Behind AWS_S3_CUSTOM_DOMAIN (a CDN meant to cache), use "public, ...".
    # - max-age one year, immutable: an object's key is never written twice
    #   (new bytes get a new key), so a cached copy is never stale and a
    #   reload need not revalidate it. The URL itself changes once per
    #   URL_WINDOW (S3), which bounds how long a cached copy is reused.
    "CACHE_CONTROL": "private, max-age=31536000, immutable",
    "CONTENT_DISPOSITION": "inline",
    # Seconds during which uploads.media.stable_url() gives the same URL: a
    # presigned GET dated at the start of the window, valid for two windows
    # (at most 302400: S3 refuses URLs valid longer than a week).
    "URL_WINDOW": 3600,
    # f(user) -> site id or None: the site whose folder a user's files go
    # to; a dotted path or the function itself (uploads.sites).
    "SITE_RESOLVER": None,
    # f(request) -> site id or None: the site a request acts for, where a
    # project lets some users act for several sites (a superuser's choice
    # of the session). It decides the folder of a new object's file (the
    # ticket API's ``new``); the target still decides whether the user may
    # act there. Without one, SITE_RESOLVER of the request's user.
    "REQUEST_SITE_RESOLVER": None,
    # f(site_ids) -> {site id: name}: how the admin names the sites of
    # tickets; a dotted path or the function itself. Without one, the admin
    # shows the ids (uploads.sites).
    "SITE_NAMES": None,
    # Seconds a client is told to wait when the store is unavailable.
    "RETRY_AFTER": 5,
    # Seconds a confirm holds its claim on a ticket while it works on the
    # store with no transaction open; a confirm that crashed is taken over
    # once it has passed. Longer than a confirm's store calls can take.
    "CONFIRM_LEASE": 60,
    # Seconds a second confirm of the same ticket waits for the first one's
    # answer before it answers 503 (retry): they return the same body.
    "CONFIRM_WAIT": 5,
    # Seconds before a failed delete of an unused object is retried, doubled
    # after each failure up to DELETE_RETRY_MAX_DELAY.
    "DELETE_RETRY_DELAY": 60,
    "DELETE_RETRY_MAX_DELAY": 3600,
    # Seconds a pending rendition set may go without a making starting
    # before purge_uploads takes its making for dead (a worker killed in
    # it: out of memory, a restart) and queues it again. Longer than a
    # making takes, and than the worker waits between its own tries after
    # a store failure (DELETE_RETRY_DELAY doubled, 8 minutes before the
    # last by default); shorter only queues a making twice, which is
    # harmless (the second finds the set made).
    "RENDITION_LEASE": 3600,
    # Makings of one set in a row that may stop the worker before
    # purge_uploads fails the set (``interrupted``) rather than queue it
    # again: an image that kills the worker each time is not tried for ever.
    "RENDITION_MAX_STARTS": 3,
    # Calls to the store one process may have in flight at once; each call
    # beyond them waits in line at most STORE_WAIT seconds for a slot, then
    # fails (503), leaving the other threads to requests that need no store.
    # Keep it below the threads of a process (uploads.guard).
    "STORE_CONCURRENCY": 4,
    # A call waits for a slot only while the store answers (no failure since
    # the last success, and a slot taken or given back within STORE_WAIT): a
    # burst on a healthy store queues, first come first served, a stall holds
    # threads for STORE_WAIT at most, at its start. 0 refuses every call
    # beyond STORE_CONCURRENCY at once (503, and clients retry after
    # Retry-After).
    "STORE_WAIT": 0.5,
    # Calls in a row that fail (timeouts, refused connections, 5xx) before
    # a process stops calling the store, and the seconds it then waits
    # before trying again with one call.
    "STORE_FAILURES": 3,
    "STORE_COOLDOWN": 5,
}

# Settings given as dotted paths, and used as the objects they name.
IMPORT_STRINGS = {"SITE_RESOLVER", "REQUEST_SITE_RESOLVER", "SITE_NAMES"}


class UploadSettings:
    def __init__(self, defaults=DEFAULTS, import_strings=IMPORT_STRINGS):
        self.defaults = defaults
        self.import_strings = import_strings
        self._cache = {}

    @property
    def user_settings(self):
        return getattr(settings, "UPLOADS", {})

    def __getattr__(self, name):
        if name not in self.defaults:
            raise AttributeError(f"Invalid UPLOADS setting: {name!r}")
        if name not in self._cache:
            value = self.user_settings.get(name, self.defaults[name])
            if name in self.import_strings and isinstance(value, str):
                try:
                    value = import_string(value)
                except ImportError as exc:
                    raise ImportError(
                        f"Could not import {value!r} for UPLOADS setting {name!r}: {exc}"
                    ) from exc
            self._cache[name] = value
        return self._cache[name]

    def reload(self):
        self._cache.clear()


upload_settings = UploadSettings()


def reload_upload_settings(*, setting, **kwargs):
    if setting == "UPLOADS":
        upload_settings.reload()


setting_changed.connect(reload_upload_settings)
