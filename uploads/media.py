"""
The storages of user media, and the site-scoped storage built on them.

The project's ``STORAGES["default"]`` names one of the two media storages,
``S3MediaStorage`` (``media/`` in the bucket) or ``LocalMediaStorage``
(``MEDIA_ROOT``): each is one real class, so the setting says what runs.
Both hold names relative to the media root (see ``uploads.keys``), so model
fields' ``.url``, ``.open()`` and ``.delete()`` work the same in either mode.

``SiteStorage`` is one site's folder of one kind. It is composed over the
media storage (``default_storage`` unless given another) rather than being an
S3 or a filesystem storage itself: it has no mode of its own, so it follows
whatever storage the settings of the moment name, and a site is resolved per
instance, never at import time. Apps define their folders from their upload
targets (``inventory.storage``).

``stable_url(name)`` is the URL to put in pages and API responses: the same
one for a while (``UPLOADS["URL_WINDOW"]``), so that browsers and apps
cache images by URL. ``.url`` signs anew at each call in S3 mode.
"""

import contextlib
import os
import posixpath
import uuid
from pathlib import PurePosixPath

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from django.utils._os import safe_makedirs
from django.utils.deconstruct import deconstructible

from uploads.conf import upload_settings
from uploads.keys import S3_MEDIA_LOCATION, media_key, site_folder
from uploads.s3 import S3Connection

#: A file being written (``LocalMediaStorage.temporary_folder``) is written
#: to every few seconds at most (an upload, 64 KiB at a time, however slow
#: the link; ``overwrite``'s, at once): one untouched for an hour belongs to
#: no process alive.
TEMPORARY_MAX_AGE = 3600


def strip_prefixes(name, prefixes):
    """``name`` without the first of ``prefixes`` it starts with.

    The old app stored full keys in fields and let the storage add its
    location again (``.../site-7/assets/products/site-7/...``). A name that
    already carries a storage's root, as a bucket key or as a media-relative
    name, is taken as it is instead of being prefixed twice.
    """
    name = name.replace("\\", "/").lstrip("/")
    for prefix in prefixes:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def stable_url(name, storage=None):
    """The cacheable URL of the media file ``name`` (relative to the media
    root), in the default storage unless given another: identical across
    page views and API calls for ``UPLOADS["URL_WINDOW"]`` seconds.

    A storage with no ``stable_url()`` of its own (a project's other
    storage) gives its ``url()``.
    """
    storage = default_storage if storage is None else storage
    method = getattr(storage, "stable_url", storage.url)
    return method(name)


class MediaRootNames:
    """Names relative to the media root; a bucket key (``media/...``) is
    taken for the name it stands for."""

    def relative_name(self, name):
        """``name`` relative to the media root."""
        return strip_prefixes(name, (media_key(""),))

    def save(self, name, content, max_length=None):
        if name is not None:
            name = self.relative_name(name)
        return super().save(name, content, max_length=max_length)


class S3MediaStorage(MediaRootNames, S3Connection):
    """User media in the bucket, below ``media/``."""

    def get_default_settings(self):
        return {**super().get_default_settings(), "location": S3_MEDIA_LOCATION}

    def _normalize_name(self, name):
        return super()._normalize_name(self.relative_name(name))

    def stable_url(self, name):
        return self.windowed_url(name)

    def overwrite(self, name, content):
        """Write ``content`` at ``name`` over any object there, in one PUT,
        which the store applies whole: a reader gets the earlier object or
        this one, never none. ``save`` would find the name taken
        (``AWS_S3_FILE_OVERWRITE`` is off) and choose another."""
        return self._save(self.relative_name(name), content)

    def object_headers(self):
        """The headers of every object the app writes for good (confirm's
        copy, and whatever is saved through this storage), from the
        ``UPLOADS`` settings."""
        return {
            "CacheControl": upload_settings.CACHE_CONTROL,
            "ContentDisposition": upload_settings.CONTENT_DISPOSITION,
        }

    def get_object_parameters(self, name):
        # AWS_S3_OBJECT_PARAMETERS, django-storages' own setting, wins.
        return {**self.object_headers(), **super().get_object_parameters(name)}


class LocalMediaStorage(MediaRootNames, FileSystemStorage):
    """User media on disk, below ``MEDIA_ROOT`` (served at ``MEDIA_URL``)."""

    #: Where files are written before they are renamed into place:
    #: ``overwrite``'s, and the uploads the emulator receives. Below the
    #: media root, on its file system (a rename is atomic only within one);
    #: hidden, so never served (``uploads.media_views``); one flat folder, so
    #: that the files a process killed before its rename left are found by
    #: listing it alone (``LocalUploadBackend.purge_temporaries``), never by
    #: walking the media tree.
    temporary_folder = ".incoming-tmp"

    def temporary_path(self):
        """The path of ``temporary_folder``."""
        return os.path.join(self.location, self.temporary_folder)

    def path(self, name):
        return super().path(self.relative_name(name))

    def url(self, name):
        return super().url(self.relative_name(name))

    def stable_url(self, name):
        """``MEDIA_URL`` URLs never change; the media view sends the caching
        headers (``uploads.media_views``)."""
        return self.url(name)

    def overwrite(self, name, content):
        """Write ``content`` at ``name`` over any file there: saved in
        ``temporary_folder``, then renamed over it, so that a reader, or a
        process killed meanwhile, never finds it missing or half written.
        ``save`` would find the name taken and choose another.

        A process killed between the two leaves its file in that folder,
        for ``purge_uploads`` to delete. Saved beside the file, as it was,
        it stayed for good in whichever folder of the media tree that was,
        which nothing lists."""
        name = self.relative_name(name)
        temporary = posixpath.join(self.temporary_folder, f"{uuid.uuid4().hex}.tmp")
        try:
            temporary_path = self.path(self.save(temporary, content))
            self.make_folder(name)
            os.replace(temporary_path, self.path(name))
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path(temporary))
            raise
        return name

    def make_folder(self, name):
        """The folder of ``name``, made if need be, as ``save`` makes it
        (``FILE_UPLOAD_DIRECTORY_PERMISSIONS``)."""
        folder = os.path.dirname(self.path(name))
        if self.directory_permissions_mode is None:
            os.makedirs(folder, exist_ok=True)
        else:
            safe_makedirs(folder, self.directory_permissions_mode, exist_ok=True)


@deconstructible
class SiteStorage(Storage):
    """``media/sites/<site_id>/<folder_name>/``: one site's files of one kind.

    Names are relative to that folder; ``media_name()`` turns them into the
    names model fields hold (relative to the media root). Subclasses set
    ``folder_name``, or callers pass it.
    """

    folder_name = None

    def __init__(self, site_id=None, folder_name=None, *, media=None):
        self.site_id = site_id
        self.folder_name = folder_name or self.folder_name
        if not self.folder_name:
            raise ValueError(f"{type(self).__name__} needs a folder name.")
        #: This storage's root, relative to the media root.
        self.folder = site_folder(site_id, self.folder_name)
        self.media = default_storage if media is None else media

    def relative_name(self, name):
        """``name`` relative to this storage's root."""
        return strip_prefixes(name, (media_key(self.folder + "/"), self.folder + "/"))

    def media_name(self, name):
        """The name to store in a model field: relative to the media root.
        A name that would leave the site's folder is refused."""
        name = self.relative_name(name)
        if ".." in PurePosixPath(name).parts:
            raise SuspiciousFileOperation(f"{name!r} leaves {self.folder}/.")
        return posixpath.join(self.folder, name)

    def save(self, name, content, max_length=None):
        if name is None:
            name = content.name
        saved = self.media.save(self.media_name(name), content, max_length=max_length)
        return self.relative_name(saved)

    def get_available_name(self, name, max_length=None):
        available = self.media.get_available_name(self.media_name(name), max_length=max_length)
        return self.relative_name(available)

    def _open(self, name, mode="rb"):
        return self.media.open(self.media_name(name), mode)

    def path(self, name):
        return self.media.path(self.media_name(name))

    def delete(self, name):
        self.media.delete(self.media_name(name))

    def exists(self, name):
        return self.media.exists(self.media_name(name))

    def listdir(self, path):
        return self.media.listdir(posixpath.join(self.folder, self.relative_name(path)))

    def size(self, name):
        return self.media.size(self.media_name(name))

    def url(self, name):
        return self.media.url(self.media_name(name))

    def stable_url(self, name):
        return stable_url(self.media_name(name), self.media)

    def get_accessed_time(self, name):
        return self.media.get_accessed_time(self.media_name(name))

    def get_created_time(self, name):
        return self.media.get_created_time(self.media_name(name))

    def get_modified_time(self, name):
        return self.media.get_modified_time(self.media_name(name))

    def __repr__(self):
        return f"<{type(self).__name__} {self.folder}/>"
