"""
The key layout, in one place: where every object of the app lives.

One layout in both modes::

    S3 key                                   file on disk
    media/sites/<site_id>/<folder>/x         MEDIA_ROOT/sites/<site_id>/<folder>/x
    media/sites/<site_id>/<folder>/incoming/ (uploads waiting for their confirm)
    media/sites/default/...                  (objects that belong to no site)

Model fields hold names relative to the media root (``sites/3/products/x.jpg``);
the store and the tickets speak in bucket keys (``media/sites/3/...``). The
services, the commands, the storages and the bucket's lifecycle rules all
derive keys from these functions, so that a rule about where objects go is
written once and a key is never rebuilt by hand elsewhere.
"""

import os
import posixpath
import string
import uuid

from uploads.targets import CONTENT_TYPES, get_target, get_targets

#: The bucket prefix of user media (``MEDIA_ROOT`` on disk).
S3_MEDIA_LOCATION = "media"
#: The folder of the sites' folders, relative to the media root.
SITES_FOLDER = "sites"
#: The folder of objects that belong to no site.
DEFAULT_SITE_FOLDER = "default"
#: The folder, in a site's folder of a kind, of uploads waiting for their confirm.
INCOMING_FOLDER = "incoming"


def media_key(name):
    """The bucket key of a name relative to the media root."""
    return f"{S3_MEDIA_LOCATION}/{name}"


def media_name_of(key):
    """The name relative to the media root (as model fields store it) of a
    bucket key; ``ValueError`` for a key outside ``media/``."""
    prefix = S3_MEDIA_LOCATION + "/"
    if not key.startswith(prefix):
        raise ValueError(f"Key outside the media root: {key!r}")
    return key[len(prefix) :]


def resolved_name(name):
    """The name, relative to the media root, of the file the media storages
    resolve ``name`` to (``uploads.media``): backslashes are slashes, a
    leading ``/`` and ``media/`` go, and ``.``, ``..`` and ``//`` are
    resolved (by the disk's storage after it drops ``media/``; the bucket's
    resolves ``..`` before, ``uploads.targets.stored_names``). Names
    confirm, the import and ``renditions.rendition_name`` give are their
    own; a row edited by hand, or left so by the old app, may name its file
    otherwise."""
    relative = name.replace("\\", "/").lstrip("/").removeprefix(media_key(""))
    return posixpath.normpath(relative)


def is_plain_key(key):
    """Whether ``key`` is a key below ``media/`` whose name the storages
    read as it is (``resolved_name``), leading nowhere above the root:
    every key the app writes is. Any other is no proof of the object it
    reaches: out of ``media/`` is the rest of the bucket (its static
    files), and a key spelled otherwise (``./``, ``//``, ``..``,
    backslashes, a second ``media/``) the disk, and the store itself for
    some, resolve to a file that is named plainly elsewhere."""
    try:
        name = media_name_of(key)
    except ValueError:
        return False
    return name == resolved_name(name) and name.partition("/")[0] not in (".", "..")


def site_folder(site_id, folder):
    """The folder of one site's files, relative to the media root.

    ``site_id`` goes into a path, so only whole numbers are accepted; ``None``
    maps to the shared ``default`` folder.
    """
    if site_id is None:
        return posixpath.join(SITES_FOLDER, DEFAULT_SITE_FOLDER, folder)
    if isinstance(site_id, bool) or not str(site_id).isdigit():
        raise ValueError(f"Invalid site id: {site_id!r}")
    return posixpath.join(SITES_FOLDER, str(int(site_id)), folder)


def in_site_folder(name, site_id, kind):
    """Whether ``name`` is in ``site_id``'s folder of ``kind``, written as
    storages resolve it: the only image that a change to a row of that
    site (a replace, a clear, a delete) deletes. A row may name
    another file: an old app's name (``products/x.jpg``), which rows of
    several sites may share until ``migrate_images_to_multisite`` moves
    them, or one leading into another site's folder. That file, and its
    renditions' set, are left for whatever else uses them.

    Only a name already as storages resolve it: the key deleted is the name
    itself, which the bucket takes literally but the disk resolves (the
    media storages read backslashes as slashes, ``..`` leads up), so a name
    resolving otherwise (``sites/1/products/..\\..\\2\\...``) is no
    proof of the file it deletes. Names confirm gives are plain.

    And only a file right in that folder, as confirm and the import name
    every image: below it are the renditions of other images and uploads
    waiting for their confirm, never a row's own (a row edited to name
    one would take it from the image or the upload it is)."""
    folder = site_folder(site_id, get_target(kind).folder)
    return (
        "\\" not in name and posixpath.normpath(name) == name and posixpath.dirname(name) == folder
    )


def in_a_site_folder(name):
    """Whether ``name`` is right in a site's folder of some registered kind
    (``sites/3/products/x.jpg``): where each image confirm and the import
    name is, never below it, where renditions and uploads waiting for their
    confirm are. A target's folder may be more than one level deep
    (``catalog/photos``)."""
    parts = name.split("/")
    if len(parts) < 4 or parts[0] != SITES_FOLDER or not all(parts):
        return False
    return "/".join(parts[2:-1]) in {target.folder for target in get_targets().values()}


def image_names(keys):
    """``{name: key}`` of those of ``keys`` that may be a row's image, by
    their names relative to the media root: right in a site's folder
    (``in_a_site_folder``), or in none, as an old app's file is
    (``products/x.jpg``, which rows of several sites may share until the
    migration moves them). An upload waiting for its confirm, which every
    confirm records for deletion, or a rendition in a site's folder, is
    none; the app records no key out of the sites' folders but the
    renditions of an old name's set."""
    prefix = S3_MEDIA_LOCATION + "/"
    names = {media_name_of(key): key for key in keys if key.startswith(prefix)}
    return {
        name: key
        for name, key in names.items()
        if in_a_site_folder(name) or not name.startswith(SITES_FOLDER + "/")
    }


def site_upload_path(site_id, folder, filename):
    """A fresh, unguessable name in a site's folder; only a short, plain
    extension of the client's file name survives."""
    extension = os.path.splitext(filename or "")[1].lower()
    if not (2 <= len(extension) <= 6 and extension[1:].isascii() and extension[1:].isalnum()):
        extension = ""
    return posixpath.join(site_folder(site_id, folder), uuid.uuid4().hex + extension)


def object_name(stem, content_type):
    """A file name: ``stem`` and the extension of ``content_type``."""
    return f"{stem}.{CONTENT_TYPES[content_type][1]}"


def object_key(site_id, folder, stem, content_type):
    """The key of a confirmed image in a site's folder."""
    return media_key(f"{site_folder(site_id, folder)}/{object_name(stem, content_type)}")


def is_object_key(key, site_id, folder, content_type):
    """Whether ``key`` is one ``object_key`` could give for ``site_id``,
    ``folder`` and ``content_type`` with a fresh stem (``uuid4().hex``):
    how a key that cannot be derived (the copy a claim names) is checked
    to be in the ticket's site folder before it is deleted. A content
    type no target takes names no key."""
    stem = posixpath.basename(key).partition(".")[0]
    return (
        content_type in CONTENT_TYPES
        and len(stem) == 32
        and set(stem) <= set(string.hexdigits.lower())
        and key == object_key(site_id, folder, stem, content_type)
    )


def incoming_prefix(site_id, folder):
    """Where uploads wait for their confirm: nothing else is ever stored
    there, so a bucket lifecycle rule may expire what stays."""
    return media_key(f"{site_folder(site_id, folder)}/{INCOMING_FOLDER}/")


def incoming_key(site_id, folder, ticket_id, content_type):
    """The one key a ticket's client may post to, from the ticket's site,
    its target's folder and its id. Issue stores it; confirm derives it
    again and refuses a row that names another (``TicketTampered``): a key
    is never trusted because it sits in our own table."""
    return incoming_prefix(site_id, folder) + object_name(ticket_id.hex, content_type)


def incoming_key_of(ticket):
    """The incoming key ``ticket`` must hold (see ``incoming_key``)."""
    return incoming_key(
        ticket.site_id, get_target(ticket.kind).folder, ticket.pk, ticket.content_type
    )
