"""
User media served by the app in filesystem mode (development and tests),
with the caching headers the bucket's objects carry.

Django's ``static()`` helper serves files with no ``Cache-Control``, so a
browser asks for every image again on each page; this view wraps the same
``django.views.static.serve`` and adds ``UPLOADS["CACHE_CONTROL"]``.
``serve`` resolves the path below ``MEDIA_ROOT`` only (``safe_join``); a
path that leaves it is answered as any missing file, 404, and so is one the
file system cannot even look up (a name over 255 bytes: ``ENAMETOOLONG``),
which ``serve`` lets through as ``OSError``.

Nor does it serve what no URL is ever made for: the uploads waiting for
their confirm (``incoming/``), bytes as a client sent them that no one has
inspected, which in a bucket only the app reads, and hidden files (the
files being written, ``.incoming-tmp/``: the emulator's being received,
renditions before their rename). Both answer 404, as any missing file.
"""

import posixpath
import re

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.http import Http404
from django.urls import re_path
from django.views.static import serve

from uploads.conf import upload_settings
from uploads.keys import INCOMING_FOLDER


def is_served(path):
    """Whether ``path`` is none of the files this view keeps to itself, in
    whatever spelling the file system resolves to one: ``a/../`` and
    ``//``, backslashes (Windows), and any case (``INCOMING/`` on macOS's
    case-insensitive file system)."""
    parts = posixpath.normpath(path.replace("\\", "/")).casefold().split("/")
    return INCOMING_FOLDER not in parts and not any(part.startswith(".") for part in parts)


def serve_media(request, path):
    """The file ``path`` below ``MEDIA_ROOT``, cacheable as the bucket's."""
    if not is_served(path):
        raise Http404(path)
    try:
        response = serve(request, path, document_root=settings.MEDIA_ROOT)
    except (SuspiciousFileOperation, OSError) as exc:
        raise Http404(path) from exc
    response["Cache-Control"] = upload_settings.CACHE_CONTROL
    return response


def media_urlpatterns():
    """The route of ``serve_media`` at ``MEDIA_URL``: none when MEDIA_URL
    names another server, which then serves the files."""
    if not settings.MEDIA_URL or "://" in settings.MEDIA_URL:
        return []
    prefix = re.escape(settings.MEDIA_URL.lstrip("/"))
    return [re_path(rf"^{prefix}(?P<path>.*)$", serve_media, name="media")]
