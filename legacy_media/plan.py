"""
The plan: which rows move, the copies, the rows that follow, the report.

Each row of each upload target is moved to ``sites/<site>/<folder>/`` of
the site the row belongs to (``legacy_media.names`` says where its old file
may be and what its new name is; ``legacy_media.stores`` reads and writes).
The rules that make it safe on a live system, twice, or after a crash:

- The destination of a source is fixed by the source's name and the
  row's, so a rerun finds the copy it made before, and no two sources, or
  rows, ever share a destination.
- A row is updated only after its copy is verified (size and ETag), and only
  if it still holds the old name: a confirm that replaced the image during
  the migration is never overwritten. A row therefore always points to an
  object that exists.
- Requests are few: where the credentials may list the bucket, one listing
  per folder (1,000 keys a page) says which old files and which copies are
  there, instead of a HEAD of each; the copy's answer (its ETag) verifies
  it; the rows follow their copies in batches, a few statements per
  ``BATCH`` copies. Without ``s3:ListBucket`` each key gets its HEAD.
- Sources are deleted only on request, once no row anywhere refers to them
  and each of their copies checks out. Every verified copy is recorded in
  ``MigratedSource`` (see its docstring) before its rows are pointed at it,
  so ``--delete-source`` on a later run deletes what earlier runs moved.
- Only the old app's places are moved from: a row naming the per-site
  layout outside its own folder (another site's image) is refused.
- Rows in place that name one file (several products given one copy by
  the first release of this command) are given a copy each, all but one
  (``split_sharing``): a replace, a clear or a delete removes a row's
  image from its site's folder (``uploads.keys.in_site_folder``), which would take the
  others' photo with it. Such a copy is made from the destination, and is
  never recorded as a source (``--delete-source`` never deletes a live
  image).
- Copies within the bucket are server-side (``CopyObject``); local files go
  to the bucket streamed from disk.
- The credentials may lack a permission. AWS then answers 403, also for a
  HEAD of a missing key when ``s3:ListBucket`` is not granted: a copy that
  is not there yet is made and then checked, an old file that cannot be
  read is reported as "missing or not readable", and each refused request
  is named; none of it stops the other copies.
"""

import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import cached_property

from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from legacy_media.models import MigratedSource
from legacy_media.names import destination_name, legacy_candidates, outside_folder
from legacy_media.stores import AccessDenied, Found, StoreError
from uploads.keys import site_folder
from uploads.targets import get_targets, stored_names


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

    @cached_property
    def place(self):
        """The name, relative to the media root, of the file of its own
        folder the row names, as the media storages resolve it
        (``uploads.targets.stored_names``: ``sites/3/products/..`` leads
        elsewhere; ``./``, ``//``, backslashes, a leading ``/`` or
        ``media/`` do not); ``None`` if it names none. Such a file is live,
        never an old one to move: moved, it would be recorded as a source,
        and ``--delete-source`` would delete what it is (a rendition of
        another row's photo, an upload waiting for its confirm)."""
        for name in sorted(stored_names(self.name)):
            if name.startswith(self.folder + "/"):
                return name
        return None

    def in_place(self):
        """Whether the row names a file of its own folder already
        (``place``)."""
        return self.place is not None

    def outside_its_folder(self):
        """Whether the row names a file of the per-site layout, but not of
        its own folder: never moved (``legacy_media.names.outside_folder``)."""
        return outside_folder(self.name, self.folder)


def update_rows(target, pairs):
    """Point each ``(row, new_name)`` of ``target`` at its new name if the
    row still holds its old name, in one UPDATE; the rows updated. Should
    not all be (a confirm replaced an image meanwhile), the rows are read
    back in the same transaction to tell which."""
    field_name = target.field_name
    manager = target.model._default_manager
    unchanged = Q()
    for row, _ in pairs:
        unchanged |= Q(pk=row.pk, **{field_name: row.name})
    new_names = Case(
        *(When(pk=row.pk, then=Value(name)) for row, name in pairs),
        default=F(field_name),
        output_field=target.model._meta.get_field(field_name),
    )
    with transaction.atomic():
        if manager.filter(unchanged).update(**{field_name: new_names}) == len(pairs):
            return [row for row, _ in pairs]
        now = dict(
            manager.filter(pk__in=[row.pk for row, _ in pairs]).values_list("pk", field_name)
        )
    return [row for row, name in pairs if now.get(row.pk) == name]


@dataclass
class Move:
    """One source copied to one site's folder, and the rows that follow it."""

    source: Found  # in ``store``
    destination: str  # relative to the media root
    rows: list = field(default_factory=list)
    existing: object = None  # the copy already there, if a listing told
    listed: bool = False  # whether ``existing`` is known without a stat
    #: The store ``source`` is in: the migration's source, or its
    #: destination for a copy in place that rows shared (``separates``).
    store: object = None
    separates: bool = False


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
    refused: int = 0  # rows naming the layout outside their folder: left alone
    separated: int = 0  # of the migrated, rows that shared a copy in place
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
        return not (self.missing or self.failed or self.refused)


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


def split_sharing(rows):
    """``rows`` (in place) as ``(keeping, sharing)``: the first row naming
    each file, and the others naming it too, which need a copy each
    (``Migration.plan``). Names are compared as the storage resolves them,
    and a row naming the file plainly comes first: a change to that row
    deletes the file once no other names it (``uploads.keys.in_site_folder``),
    where one spelt otherwise would leave it behind."""
    keeping, sharing, seen = [], [], set()
    for row in sorted(rows, key=lambda row: row.name != row.place):
        name = row.place
        (sharing if name in seen else keeping).append(row)
        seen.add(name)
    return keeping, sharing


class Migration:
    """Plans and runs the move of every row's file; see the module's docstring.

    ``source`` and ``destination`` are stores (``legacy_media.stores``);
    ``log(text)`` receives a line per row at ``verbose``; ``progress(done,
    total)`` follows the copies.
    """

    BATCH = 100  # copies whose rows follow together

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
        in_place, pending = [], []
        for row in rows:
            if row.in_place():
                in_place.append(row)
            elif row.outside_its_folder():
                self.report.add(refused=1)
                self.report.problem(
                    f"{row}: {row.name} is in the per-site layout, outside {row.folder}/: "
                    "left alone"
                )
            else:
                pending.append(row)
        in_place, sharing = split_sharing(in_place)
        if limit is not None:
            planned = pending[:limit]
            sharing, deferred = sharing[: limit - len(planned)], sharing[limit - len(planned) :]
            self.report.add(deferred=len(pending) - len(planned) + len(deferred))
            pending = planned
        if check_destination:
            found = self.check_in_place(in_place, sharing)
        else:
            # A dry run from local files to the bucket, without its
            # credentials: the copy shared is taken to be there.
            self.report.add(in_place=len(in_place))
            found = {row.place: Found(self.destination.key(row.place), 0, "") for row in sharing}
        moves = {}
        for row in sharing:
            if row.place in found:
                self.add_move(moves, row, found[row.place], store=self.destination)
        listed = self.source.list_candidates({row.name for row in pending})
        for row in pending:
            try:
                source = self.source.find(row.name, listed)
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
            self.add_move(moves, row, source)
        return list(moves.values())

    def add_move(self, moves, row, source, store=None):
        """Plan ``row``'s copy of ``source`` (in ``store``, the migration's
        source if ``None``): rows whose source and destination are the same
        follow one copy."""
        destination = destination_name(row.site_id, row.target.folder, source.name, owner=str(row))
        move = moves.setdefault(
            (source.name, destination),
            Move(source, destination, store=store, separates=store is not None),
        )
        move.rows.append(row)

    def check_in_place(self, rows, sharing=()):
        """Count the rows already in the layout whose file is there, and
        return the files of the ``sharing`` rows (``split_sharing``) by
        name; each row whose file is missing is reported."""
        names = {row.place for row in (*rows, *sharing)}
        listed = self.destination.listing({self.destination.key(name) for name in names})
        found = {}
        for row in (*rows, *sharing):
            key = self.destination.key(row.place)
            try:
                if key not in listed:
                    listed[key] = self.destination.stat(key)
            except AccessDenied as error:
                self.report.add(missing=1)
                self.report.problem(f"{row}: {row.name} is missing or not readable", error)
                continue
            except StoreError as error:
                self.report.add(failed=1)
                self.report.problem(f"{row}: {error}", error)
                continue
            if not listed[key]:
                self.report.add(missing=1)
                self.report.problem(f"{row}: {row.name} is missing")
            else:
                found[row.place] = listed[key]
        self.report.add(in_place=sum(row.place in found for row in rows))
        return found

    # Running writes.

    def run(self, moves):
        """Copy in worker threads; record each batch of verified copies and
        point their rows at them from this thread, so that the database has
        one writer (SQLite refuses concurrent writes instead of waiting)
        and the worker threads no connection to close."""
        total = len(moves)
        self.progress(0, total)
        listed = self.destination.listing({self.destination.key(m.destination) for m in moves})
        for move in moves:
            key = self.destination.key(move.destination)
            move.listed = key in listed
            move.existing = listed.get(key)
        copied = []
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            futures = {pool.submit(self.copy_or_report, move): move for move in moves}
            for done, future in enumerate(as_completed(futures), 1):
                if future.result():
                    copied.append(futures[future])
                if len(copied) >= self.BATCH:
                    self.follow(copied)
                    copied = []
                self.progress(done, total)
        self.follow(copied)
        return self.report

    def copy_or_report(self, move):
        try:
            self.copy(move)
        except AccessDenied as error:
            if not self.readable(move):
                return False
            self.report.add(failed=len(move.rows))
            self.report.problem(f"{move.source.name}: {error}", error)
            return False
        except (StoreError, OSError) as error:
            self.report.add(failed=len(move.rows))
            self.report.problem(f"{move.source.name}: {error}", error)
            return False
        return True

    def readable(self, move):
        """After a refused copy: whether the source may be read. A listing
        names objects the credentials may not read (``s3:GetObject`` is
        granted per key); those are reported as a HEAD would have had them
        reported while planning."""
        try:
            (move.store or self.source).stat(move.source.name)
        except AccessDenied as error:
            for row in move.rows:
                self.report.add(missing=1)
                self.report.problem(f"{row}: {row.name} is missing or not readable (403)", error)
            return False
        except StoreError:
            pass
        return True

    def follow(self, moves):
        """Record the copies, then point the rows at them. Killed in
        between, the rows still name their sources, which are therefore
        kept. A copy that separates rows is no source's: not recorded."""
        if not moves:
            return
        origin = self.source.describe()
        records = [
            MigratedSource(origin=origin, source=move.source.name, destination=move.destination)
            for move in moves
            if not move.separates
        ]
        MigratedSource.objects.bulk_create(records, ignore_conflicts=True)
        by_target = {}
        for move in moves:
            for row in move.rows:
                key = (row.target.model, row.target.field_name)
                by_target.setdefault(key, (row.target, []))[1].append((row, move))
        for target, pairs in by_target.values():
            # At most BATCH rows a statement: SQLite parses the OR of their
            # conditions as a tree at most 1,000 deep.
            destinations = [(row, move.destination) for row, move in pairs]
            updated = {
                id(row)
                for start in range(0, len(pairs), self.BATCH)
                for row in update_rows(target, destinations[start : start + self.BATCH])
            }
            for row, move in pairs:
                if id(row) in updated:
                    self.report.add(migrated=1, separated=int(move.separates))
                    self.log(f"{row}: {row.name} -> {move.destination}")
                else:
                    self.report.add(changed=1)
                    self.log(f"{row}: changed meanwhile, left alone")

    def copy(self, move):
        """Copy the source unless a verified copy is already there."""
        key = self.destination.key(move.destination)
        if move.listed:
            existing = move.existing
        else:
            try:
                existing = self.destination.stat(key)
            except AccessDenied:
                # AWS's answer for a key that holds nothing, without
                # s3:ListBucket: copy, then look (a refusal then is real).
                existing = None
        store = move.store or self.source
        if self.verified(move.source, existing, store):
            return
        written = self.destination.copy(store, move.source, key)
        self.report.add(copies=1, bytes_copied=move.source.size)
        if written is None:
            written = self.destination.stat(key)
        if not self.verified(move.source, written, store):
            raise StoreError(f"the copy at {key} differs from its source")

    def verified(self, source, copy, store=None):
        """Whether ``copy`` has the size and content of ``source`` (in
        ``store``, the migration's source if ``None``).

        A bucket copy keeps the source's ETag, except for an object uploaded
        in parts (``-`` in its ETag), where a conditional copy and the size
        are the proof; a local file's checksum is its MD5, the ETag of an
        object written in one PUT."""
        if copy is None or copy.size != source.size:
            return False
        if "-" in source.etag:
            return True
        return self.destination.checksum(copy) == (store or self.source).checksum(source)

    # Cleaning up.

    def delete_sources(self, site=None, *, dry_run=False):
        """Delete each source this run or an earlier one copied (as
        ``MigratedSource`` records) once no row of any site refers to it and
        each of its copies checks out; ``site`` limits it to sources copied
        into that site's folder. A dry run only counts."""
        # Every row's places, in place or not: a journal entry may name a
        # file of the per-site layout that a row in place uses (a row of
        # another site once named it), and that file is no source to delete.
        referenced = set()
        for row in collect_rows():
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
            self.source.delete(found.name)
            self.report.add(sources_deleted=1)
            self.log(f"{name}: deleted")
        if not dry_run:
            MigratedSource.objects.filter(pk__in=[entry.pk for entry in entries]).update(
                source_deleted_at=timezone.now()
            )
