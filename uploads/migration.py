"""
Moving images stored the old way into the per-site layout.

The previous app left names such as ``products/x.jpg``,
``assets/products/site-7/x.jpg``, the doubled
``assets/products/site-7/assets/products/site-7/x.jpg``, or a logo of site 7
under ``assets/logos/site-default/``. Each row of each upload target is
moved to ``sites/<site>/<folder>/`` of the site the row belongs to.

The rules that make it safe on a live system, twice, or after a crash:

- The destination of a source is fixed by the source's name (a hash of it
  is part of the new name), so a rerun finds the copy it made before, and
  no two sources ever share a destination.
- A row is updated only after its copy is verified (size and ETag), and only
  if it still holds the old name: a confirm that replaced the image during
  the migration is never overwritten. A row therefore always points to an
  object that exists.
- Sources are deleted only on request, once no row anywhere refers to them
  and each of their copies checks out. Every verified copy is recorded in
  ``MigratedSource`` (see its docstring) before its rows are pointed at it,
  so ``--delete-source`` on a later run deletes what earlier runs moved.
- Copies within the bucket are server-side (``CopyObject``); local files go
  to the bucket streamed from disk.
- The credentials may lack a permission. AWS then answers 403, also for a
  HEAD of a missing key when ``s3:ListBucket`` is not granted: a copy that
  is not there yet is made and then checked, an old file that cannot be
  read is reported as "missing or not readable", and each refused request
  is named; none of it stops the other copies.
"""

import hashlib
import mimetypes
import os
import posixpath
import shutil
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.text import get_valid_filename

from uploads.backends.base import ObjectChanged, ObjectMissing
from uploads.backends.s3 import S3UploadBackend
from uploads.errors import StorageAccessDenied, StorageUnavailable
from uploads.keys import S3_MEDIA_LOCATION, media_key, site_folder
from uploads.models import MigratedSource
from uploads.targets import get_targets

CHUNK_SIZE = 1024 * 1024

# --- Where the old app's files may be --------------------------------------


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


def legacy_candidates(name):
    """The places, in order, where the file of a row named ``name`` may be:
    relative to the bucket's root or to the source folder."""
    name = name.replace("\\", "/").lstrip("/")
    candidates = []
    for form in (name, collapse_doubled(name)):
        bare = form.removeprefix(S3_MEDIA_LOCATION + "/")
        for candidate in (form, bare, media_key(bare)):
            if candidate not in candidates:
                candidates.append(candidate)
    return candidates


def destination_name(site_id, folder, source):
    """The new name (relative to the media root) of ``source`` for a site:
    the old file name, made safe, and a hash of the whole source name."""
    stem, extension = posixpath.splitext(posixpath.basename(source))
    stem = get_valid_filename(stem)[:60] or "image"
    extension = extension.lower() if extension[1:].isalnum() and len(extension) <= 6 else ""
    digest = hashlib.sha256(source.encode()).hexdigest()[:10]
    return posixpath.join(site_folder(site_id, folder), f"{stem}-{digest}{extension}")


def content_type_of(name):
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def file_md5(path):
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Found:
    """An object found in a source or destination."""

    name: str
    size: int
    etag: str  # S3 ETag without quotes, or a file's MD5


class StoreError(Exception):
    """A store failed in a way a rerun may fix (network, permissions)."""


class AccessDenied(StoreError):
    """The store answered 403: a permission is missing or, for a HEAD on
    AWS without ``s3:ListBucket``, the key may simply hold nothing."""


# --- Sources -----------------------------------------------------------------


class BucketSource:
    """The old app's objects in the media bucket, keys from its root."""

    def __init__(self, bucket):
        self.bucket = bucket

    def describe(self):
        return f"bucket {self.bucket.bucket}"

    def find(self, name):
        refused = False
        for key in legacy_candidates(name):
            try:
                found = self.bucket.stat(key)
            except AccessDenied:
                refused = True
                continue
            if found:
                return found
        if refused:
            raise AccessDenied(f"{name} is missing or not readable (403)")
        return None

    def stat(self, key):
        return self.bucket.stat(key)

    def delete(self, found):
        self.bucket.delete(found.name)


class DirectorySource:
    """The old app's files in a folder on this machine."""

    def __init__(self, root):
        self.root = os.path.abspath(root)

    def describe(self):
        return f"folder {self.root}"

    def path(self, relative):
        path = os.path.abspath(os.path.join(self.root, relative))
        if os.path.commonpath([self.root, path]) != self.root:
            return None  # "../" in a name: never outside the folder
        return path

    def find(self, name):
        for relative in legacy_candidates(name):
            path = self.path(relative)
            if path and os.path.isfile(path):
                return Found(relative, os.path.getsize(path), "")
        return None

    def stat(self, relative):
        path = self.path(relative)
        if path and os.path.isfile(path):
            return Found(relative, os.path.getsize(path), "")
        return None

    def md5(self, found):
        return file_md5(self.path(found.name))

    def delete(self, found):
        try:
            os.remove(self.path(found.name))
        except FileNotFoundError:
            pass


# --- Destinations ------------------------------------------------------------


class BucketStore:
    """The media bucket, through the upload backend: the same client, and
    the same headers on what it writes, as confirm."""

    def __init__(self):
        self.backend = S3UploadBackend()
        self.bucket = self.backend.bucket

    def describe(self):
        return f"bucket {self.bucket}"

    @contextmanager
    def failing_as_store_error(self, operation, key):
        try:
            yield
        except StorageAccessDenied as exc:
            raise AccessDenied(f"{operation} {key}: access denied (403)") from exc
        except (StorageUnavailable, ObjectChanged) as exc:
            raise StoreError(f"{operation} {key}: {exc.__cause__ or exc}") from exc

    def stat(self, key):
        with self.failing_as_store_error("head", key):
            try:
                info = self.backend.head(key)
            except ObjectMissing:
                return None
        return Found(key, info.size, info.etag.strip('"'))

    def copy_object(self, source, key):
        """Server-side copy of exactly ``source``: no bytes pass through here."""
        with self.failing_as_store_error("copy", key):
            self.backend.copy(source.name, key, f'"{source.etag}"', content_type_of(key))

    def put_file(self, path, key):
        # One PUT streamed from the file: its ETag is then the MD5 we check.
        with self.failing_as_store_error("put", key), open(path, "rb") as body:
            self.backend.call(
                "put_object",
                Bucket=self.bucket,
                Key=key,
                Body=body,
                **self.backend.object_headers(content_type_of(key)),
            )

    def delete(self, key):
        with self.failing_as_store_error("delete", key):
            self.backend.delete(key)

    def key(self, name):
        return media_key(name)


class DirectoryStore:
    """``MEDIA_ROOT`` in filesystem mode."""

    def __init__(self, root):
        self.root = os.path.abspath(root)

    def describe(self):
        return f"folder {self.root}"

    def key(self, name):
        return name

    def path(self, name):
        return os.path.join(self.root, *name.split("/"))

    def stat(self, name):
        path = self.path(name)
        if not os.path.isfile(path):
            return None
        return Found(name, os.path.getsize(path), "")

    def md5(self, found):
        return file_md5(self.path(found.name))

    def put_file(self, path, name):
        """Copy beside the target, then rename: a copy cut short never leaves
        a partial file under the final name, and the next run overwrites it."""
        target = self.path(name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        partial = target + ".partial"
        with open(path, "rb") as source, open(partial, "wb") as out:
            shutil.copyfileobj(source, out, CHUNK_SIZE)
        os.replace(partial, target)


# --- The plan ----------------------------------------------------------------


@dataclass
class Row:
    """One model row's file field, as it was read."""

    target: object
    pk: object
    site_id: object
    name: str

    def __str__(self):
        return f"{self.target.kind} {self.pk}"

    @property
    def folder(self):
        return site_folder(self.site_id, self.target.folder)

    def in_place(self):
        return self.name.startswith(self.folder + "/")

    def update(self, new_name):
        """Point the row at ``new_name`` if it still holds the old name."""
        model = self.target.model
        return bool(
            model._default_manager.filter(pk=self.pk, **{self.target.field_name: self.name}).update(
                **{self.target.field_name: new_name}
            )
        )


@dataclass
class Move:
    """One source copied to one site's folder, and the rows that follow it."""

    source: Found
    destination: str  # relative to the media root
    rows: list = field(default_factory=list)


@dataclass
class Report:
    migrated: int = 0
    in_place: int = 0
    missing: int = 0
    failed: int = 0
    changed: int = 0  # replaced by a confirm during the migration: left alone
    deferred: int = 0  # beyond --limit: for a later run
    copies: int = 0
    bytes_copied: int = 0
    sources_deleted: int = 0
    sources_kept: int = 0  # a copy is gone or differs: the source stays
    denied: int = 0  # requests the store refused (403)
    problems: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts):
        with self.lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def problem(self, text, error=None):
        with self.lock:
            self.problems.append(text)
            self.denied += isinstance(error, AccessDenied)

    @property
    def ok(self):
        return not (self.missing or self.failed)


def collect_rows(site=None):
    """Every row with a file, of every upload target; ``site`` limits them to
    one site (``"default"`` for rows of no site)."""
    for target in get_targets().values():
        queryset = target.model._default_manager.exclude(**{target.field_name: ""}).order_by("pk")
        for obj in queryset.iterator():
            site_id = target.get_site_id(obj)
            if site is not None and str(site_id if site_id is not None else "default") != str(site):
                continue
            yield Row(target, obj.pk, site_id, getattr(obj, target.field_name).name)


class Migration:
    """Plans and runs the move of every row's file; see the module's docstring.

    ``source`` and ``destination`` are a source and a store above;
    ``log(text)`` receives a line per row at ``verbose``; ``progress(done,
    total)`` follows the copies.
    """

    def __init__(self, source, destination, *, workers=4, log=None, progress=None):
        self.source = source
        self.destination = destination
        self.workers = max(1, workers)
        self.log = log or (lambda text: None)
        self.progress = progress or (lambda done, total: None)
        self.report = Report()

    # Planning reads only.

    def plan(self, rows, *, limit=None, check_destination=True):
        """The moves to make, and the rows that need none, counted."""
        moves = {}
        pending = 0
        for row in rows:
            if row.in_place():
                try:
                    found = (
                        self.destination.stat(self.destination.key(row.name))
                        if check_destination
                        else True
                    )
                except AccessDenied as error:
                    self.report.add(missing=1)
                    self.report.problem(f"{row}: {row.name} is missing or not readable", error)
                    continue
                except StoreError as error:
                    self.report.add(failed=1)
                    self.report.problem(f"{row}: {error}", error)
                    continue
                if found:
                    self.report.add(in_place=1)
                else:
                    self.report.add(missing=1)
                    self.report.problem(f"{row}: {row.name} is missing")
                continue
            if limit is not None and pending >= limit:
                self.report.add(deferred=1)
                continue
            pending += 1
            try:
                source = self.source.find(row.name)
            except AccessDenied as error:
                self.report.add(missing=1)
                self.report.problem(f"{row}: {error}", error)
                continue
            except StoreError as error:
                self.report.add(failed=1)
                self.report.problem(f"{row}: {error}", error)
                continue
            if source is None:
                self.report.add(missing=1)
                self.report.problem(f"{row}: {row.name} is missing")
                continue
            destination = destination_name(row.site_id, row.target.folder, source.name)
            move = moves.setdefault((source.name, destination), Move(source, destination))
            move.rows.append(row)
        return list(moves.values())

    # Running writes.

    def run(self, moves):
        """Copy in worker threads; record each verified copy and point its
        rows at it from this thread, so that the database has one writer
        (SQLite refuses concurrent writes instead of waiting)."""
        total = len(moves)
        self.progress(0, total)
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            futures = {pool.submit(self.copy_or_report, move): move for move in moves}
            for done, future in enumerate(as_completed(futures), 1):
                if future.result():
                    self.follow(futures[future])
                self.progress(done, total)
        return self.report

    def copy_or_report(self, move):
        try:
            self.copy(move)
        except (StoreError, OSError) as error:
            self.report.add(failed=len(move.rows))
            self.report.problem(f"{move.source.name}: {error}", error)
            return False
        return True

    def follow(self, move):
        """Record the copy, then point the rows at it. Killed in between,
        the rows still name the source, which is therefore kept."""
        MigratedSource.objects.get_or_create(
            origin=self.source.describe(), source=move.source.name, destination=move.destination
        )
        for row in move.rows:
            if row.update(move.destination):
                self.report.add(migrated=1)
                self.log(f"{row}: {row.name} -> {move.destination}")
            else:
                self.report.add(changed=1)
                self.log(f"{row}: changed meanwhile, left alone")

    def copy(self, move):
        """Copy the source unless a verified copy is already there."""
        key = self.destination.key(move.destination)
        try:
            existing = self.destination.stat(key)
        except AccessDenied:
            # AWS's answer for a key that holds nothing, without
            # s3:ListBucket: copy, then look (a refusal then is real).
            existing = None
        if self.verified(move.source, existing):
            return
        if isinstance(self.source, BucketSource):
            self.destination.copy_object(move.source, key)
        else:
            self.destination.put_file(self.source.path(move.source.name), key)
        self.report.add(copies=1, bytes_copied=move.source.size)
        if not self.verified(move.source, self.destination.stat(key)):
            raise StoreError(f"the copy at {key} differs from its source")

    def verified(self, source, copy):
        """Whether ``copy`` has the size and content of ``source``.

        A bucket copy keeps the source's ETag, except for an object uploaded
        in parts (``-`` in its ETag), where a conditional copy and the size
        are the proof; a local file's ETag is its MD5."""
        if copy is None or copy.size != source.size:
            return False
        if isinstance(self.source, DirectorySource):
            return (copy.etag or self.destination.md5(copy)) == self.source.md5(source)
        return "-" in source.etag or copy.etag == source.etag

    # Cleaning up.

    def delete_sources(self, site=None, *, dry_run=False):
        """Delete each source this run or an earlier one copied (as
        ``MigratedSource`` records) once no row of any site refers to it and
        each of its copies checks out; ``site`` limits it to sources copied
        into that site's folder. A dry run only counts."""
        referenced = set()
        for row in collect_rows():
            if not row.in_place():
                referenced.update(legacy_candidates(row.name))
        pending = MigratedSource.objects.filter(
            origin=self.source.describe(), source_deleted_at=None
        ).order_by("pk")
        if site is not None:
            folder = site_folder(None if str(site) == "default" else site, "")
            copied_there = pending.filter(destination__startswith=folder).values("source")
            pending = pending.filter(source__in=copied_there)
        copies = defaultdict(list)
        for entry in pending:
            copies[entry.source].append(entry)
        for name, entries in copies.items():
            if name in referenced:
                continue
            try:
                self.delete_source(name, entries, dry_run)
            except (StoreError, OSError) as error:
                self.report.add(failed=1)
                self.report.problem(f"{name}: not deleted: {error}", error)

    def delete_source(self, name, entries, dry_run):
        found = self.source.stat(name)
        if found is not None:
            for entry in entries:
                copy = self.destination.stat(self.destination.key(entry.destination))
                if not self.verified(found, copy):
                    self.report.add(sources_kept=1)
                    self.log(f"{name}: kept: its copy {entry.destination} is gone or differs")
                    return
            if dry_run:
                self.report.add(sources_deleted=1)
                return
            self.source.delete(found)
            self.report.add(sources_deleted=1)
            self.log(f"{name}: deleted")
        if not dry_run:
            MigratedSource.objects.filter(pk__in=[entry.pk for entry in entries]).update(
                source_deleted_at=timezone.now()
            )
