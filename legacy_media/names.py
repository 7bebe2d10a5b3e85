"""
How the previous app's names map to places to look and to new names.

The old app left names such as ``products/x.jpg``,
``assets/products/site-7/x.jpg``, the doubled
``assets/products/site-7/assets/products/site-7/x.jpg``, or a logo of site 7
under ``assets/logos/site-default/``, and its files sometimes under
``media/``, sometimes not. The new name of a file is fixed by its old name
and the row (a hash of both is part of the new name): a rerun finds the
copy it made before, and no two old files, or rows, ever share a new name.

Pure functions: nothing here reads a store or the database.
"""

import hashlib
import posixpath

from django.utils.text import get_valid_filename

from uploads.keys import S3_MEDIA_LOCATION, SITES_FOLDER, media_key, site_folder


def collapse_doubled(name):
    """``a/b/a/b/x.jpg`` → ``a/b/x.jpg``: the prefix the old storage added a
    second time, removed (repeatedly)."""
    parts = name.split("/")
    changed = True
    while changed:
        changed = False
        for size in range(1, len(parts) // 2 + 1):
            if parts[:size] == parts[size : 2 * size] and len(parts) > 2 * size:
                parts = parts[size:]
                changed = True
                break
    return "/".join(parts)


def resolved(name):
    """``name`` as the old app's storage resolved it (Django's and
    django-storages' ``safe_join``): slashes for backslashes, from the
    store's root, ``.`` and ``..`` gone; ``None`` for a name leading out of
    the root, which that storage refused, so that no file has it."""
    name = posixpath.normpath(name.replace("\\", "/").lstrip("/"))
    if name in (".", "..") or name.startswith("../"):
        return None
    return name


def legacy_candidates(name):
    """The places, in order, where the file of a row named ``name`` may be:
    relative to the bucket's root or to the source folder."""
    name = resolved(name)
    if name is None:
        return []
    candidates = []
    for form in (name, collapse_doubled(name)):
        bare = form.removeprefix(S3_MEDIA_LOCATION + "/")
        for candidate in (form, bare, media_key(bare)):
            if candidate not in candidates:
                candidates.append(candidate)
    return candidates


def outside_folder(name, folder):
    """Whether a row named ``name`` names a place of the per-site layout
    (``sites/...``) outside ``folder``, its own (``sites/3/products``):
    another site's files, or another folder of its own site (uploads not
    yet checked, renditions, another kind's images). The old app never
    wrote there; what is there is live, and moving it would copy another
    site's image into this one's folder, then delete it with the sources."""
    return any(
        bare.startswith(SITES_FOLDER + "/") and not bare.startswith(folder + "/")
        for bare in (
            candidate.removeprefix(S3_MEDIA_LOCATION + "/") for candidate in legacy_candidates(name)
        )
    )


def destination_name(site_id, folder, source, owner):
    """The new name (relative to the media root) of ``source`` for the row
    ``owner`` (``"product 12"``) of a site: the old file name, made safe,
    and a hash of the whole source name and the row. One copy per row, not
    per site: rows that shared an old file each get their own, since a
    replace, a clear or a delete removes the row's image from its site's
    folder (``uploads.keys.in_site_folder``), which would take a shared
    copy from the other rows."""
    stem, extension = posixpath.splitext(posixpath.basename(source))
    stem = get_valid_filename(stem)[:60] or "image"
    extension = extension.lower() if extension[1:].isalnum() and len(extension) <= 6 else ""
    digest = hashlib.sha256(f"{source}\n{owner}".encode()).hexdigest()[:10]
    return posixpath.join(site_folder(site_id, folder), f"{stem}-{digest}{extension}")
