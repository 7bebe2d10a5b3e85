"""
Renditions: the re-encoded copies of an image that pages and APIs link to.

The original is whatever the uploader's client sent: confirm checks its
header, not its every byte, so it may carry GPS coordinates in its EXIF,
HTML after its end marker, or be cut short; and a phone photo is megabytes
where a list needs kilobytes. Viewers get renditions instead, made here in
the worker after confirm commits (``uploads.tasks.image_attached``; a
retry after a store failure is ``make_renditions``):

    decode     the whole image (a file that does not decode to its last
               pixel fails), at reduced scale where the format allows
               (JPEG ``draft``, then ``reduce`` inside ``thumbnail``)
    orient     apply the EXIF orientation, then drop every piece of metadata
               (EXIF, XMP, ICC after conversion to sRGB, comments)
    encode     WebP per ``RenditionSpec``; transparency is kept when the
               original has any (logos), dropped otherwise

Each original has one ``RenditionSet`` row (its state and variants). An
image a confirm attaches gets its set in the worker, before the task makes
the confirm's deletes (``start``), and the set of the image it replaced is
forgotten there too, once the image is deleted (``forget_deleted``):
neither is on the request path, where each was a query (issue 17), and
viewers read a missing set as pending (``inventory.images``). Rendition
names derive from the original's (``rendition_name``), so that the objects
of a removed original are recorded for deletion with it
(``uploads.deletions``, ``image_keys``) in the transaction that removes
it, whatever state its set is in; ``purge_uploads`` forgets any set whose
original no object uses (``forget_orphans``), should a task never run, and
queues again the making of a set left pending by a worker that died
(``restart_stalled``), which the task backend never runs again.

Memory: the worker makes one image's renditions at a time, and decodes
nothing over the target's pixel limit (``get_max_pixels()``, the one confirm
applied), checked before decoding. A JPEG is decoded at reduced scale
(``draft``); a PNG or WebP at full size, whatever the renditions need:
Pillow reduces while decoding JPEG alone. The peak above the worker's
resting memory, measured (tests/benchmarks/bench_renditions.py): about
30 MB for a JPEG whatever its size, 7 bytes a pixel for a PNG (its pixels
at 4 bytes, its file, the resize; 11 for one with transparency), 16 for a
WebP (Pillow decodes WebP with libwebp's animation API, which keeps two
canvases of 4 bytes a pixel, and copies the pixels twice more on their way
to the image). So the largest image sizes the worker: about 620 MB over
rest for a 40 MP WebP, the default limit. Lower ``UPLOADS["MAX_PIXELS"]``
or a target's ``max_pixels`` for a smaller worker; both ends follow it.
"""

import hashlib
import io
import logging
import math
import posixpath
import struct
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from PIL import Image, ImageCms, ImageFile, ImageOps

from uploads import deletions, returning
from uploads.conf import upload_settings
from uploads.inspect import MAX_SCANS, too_many_scans
from uploads.keys import image_names, in_site_folder, media_key, resolved_name
from uploads.models import PendingDeletion, RenditionSet
from uploads.targets import get_target, get_targets, names_in_use

logger = logging.getLogger(__name__)
State = RenditionSet.State
Error = RenditionSet.Error

#: Tries of a task whose store fails before the set is left pending, for
#: ``purge_uploads`` to queue again (``restart_stalled``), or ``manage.py
#: build_renditions`` (``--missing`` rebuilds pending sets).
ATTEMPTS = 5
# Formats confirm accepts (uploads.targets.CONTENT_TYPES): nothing else is
# ever decoded here.
FORMATS = ("JPEG", "PNG", "WEBP")


@dataclass(frozen=True)
class RenditionSpec:
    """One rendition: the image fit within ``max_side`` x ``max_side``
    (never enlarged), as WebP of ``quality`` and encoder ``method`` (0 fast
    to 6 small). The defaults were picked by measurement, on a 1600 px
    rendition of a 12 MP photo: method 4 gives files 6 % smaller than
    method 2 for about 100 ms more, spent once, while viewers pay for the
    bytes every time; method 6 saves under 1 % more, for more time."""

    name: str
    max_side: int
    quality: int = 80
    method: int = 4

    @property
    def settings(self):
        """What the bytes depend on, for the rendition's name: ``200q80m4``."""
        return f"{self.max_side}q{self.quality}m{self.method}"


DEFAULT_RENDITIONS = (
    RenditionSpec("thumb_small", 100),
    RenditionSpec("thumb", 200),
    RenditionSpec("display", 1600),
)


class Undecodable(Exception):
    """The original cannot be decoded fully: the set ends ``failed`` with
    ``code``, and is not tried again."""

    def __init__(self, code, detail=""):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


# --- Names ------------------------------------------------------------------


def rendition_name(original_name, spec):
    """``sites/3/products/renditions/<token>-<spec>-<200q80m4>.webp`` for
    ``sites/3/products/<stem>.<ext>``: media-relative, in the original's
    folder, derived from its name and the spec alone.

    ``<token>`` is a hash of the original's file name, extension included,
    not its stem: a rendition's URL, which everyone who sees the image
    gets, must not lead to the original, which only some viewers get
    (``inventory.permissions.can_see_originals``) and which plain URLs (a
    CDN's ``AWS_S3_CUSTOM_DOMAIN``) would otherwise serve to anyone who
    swaps the stem in; and two originals of one stem (``x.jpg``, ``x.png``)
    get renditions of their own. Set and pages read the names the set
    recorded (``variants``), never this function, so renditions made under
    an earlier naming keep their URLs until they are made again.

    The spec's size and settings are part of the name: the objects are
    served as immutable (``UPLOADS["CACHE_CONTROL"]``), so renditions made
    again with other settings (``build_renditions --all``) must get new
    URLs, or caches would keep the old ones for a year.

    Of the original's name as the storages resolve it (``resolved_name``):
    a row may name its file otherwise (``./sites/3/...``, ``media/sites/3/
    ...``: edited by hand, or left so by the old app), and the storage
    saves a rendition at the plain name whatever it is given, which
    ``store`` then took for another worker's copy and deleted."""
    folder, filename = posixpath.split(resolved_name(original_name))
    token = hashlib.sha256(filename.encode()).hexdigest()[:32]
    return posixpath.join(folder, "renditions", f"{token}-{spec.name}-{spec.settings}.webp")


def specs_of(kind):
    """The renditions of a target kind: its own, or the defaults."""
    return get_target(kind).get_renditions()


def derived_keys(original_name, kind, recorded=()):
    """The bucket keys every rendition of ``original_name`` may be at: the
    names its specs give, and those its set recorded (``recorded``: the
    set's ``variants``; specs may have changed since)."""
    keys = {rendition_key(rendition_name(original_name, spec)) for spec in specs_of(kind)}
    return keys | recorded_keys(recorded)


def rendition_key(name):
    """The bucket key of the rendition ``name``, as the storages resolve
    it: a set may record another spelling (made by a release that took a
    row's spelling for the rendition's), which the deletes would leave
    (``uploads.deletions``: only plain keys)."""
    return media_key(resolved_name(name))


def recorded_keys(recorded):
    """The keys of the renditions sets recorded (their ``variants``)."""
    return {
        rendition_key(variant["name"]) for variants in recorded for variant in variants.values()
    }


def rendition_keys(names):
    """The keys of the renditions of the images ``names``: those the specs
    of any registered kind name (what confirm records with a replaced
    image, ``image_keys``), found without its kind, and those their sets
    record. A release that named renditions after the original's stem
    recorded those names with a replaced image, and only its set still
    knows them. Asked about images a row names (``deletions.keys_in_use``):
    a read of the sets, rarely."""
    names = set(names)
    keys = {key for name in names for kind in get_targets() for key in derived_keys(name, kind)}
    if names:
        sets = RenditionSet.objects.filter(original__in=names).values_list("variants", flat=True)
        keys |= recorded_keys(sets)
    return keys


# --- Lookups for pages and APIs ---------------------------------------------


def get_renditions(names):
    """``{original name: RenditionSet}`` of ``names``, in one query."""
    names = {name for name in names if name}
    if not names:
        return {}
    return {rs.original: rs for rs in RenditionSet.objects.filter(original__in=names)}


def get_rendition_set(name):
    return get_renditions([name]).get(name)


# --- Scheduling: the sets of originals attached, replaced and removed -------


def reset(original_name, kind):
    """``original_name``'s set, created or reset to pending, for
    ``build_renditions``. Its variants stay recorded, unserved while it is
    pending: the next making overwrites those its specs still name, and
    records the others (made with other settings or another naming) for
    deletion once the new ones replace them (``finish``). One upsert
    (INSERT ... ON CONFLICT DO UPDATE) rather than update_or_create's
    savepoints, locking read and write.

    Its count of makings that died stays: the command's making is one more
    (``begin``), and if the command is killed in it (run, as it should be,
    with the worker's memory, on an image given up as ``interrupted``),
    ``restart_stalled`` fails the set again at once, where a count reset
    to 0 had the worker die on it twice more, each time the operator ran
    the command. A making that ends resets it (``finish``)."""
    (rendition_set,) = RenditionSet.objects.bulk_create(
        [RenditionSet(original=original_name, kind=kind, state=State.PENDING)],
        update_conflicts=True,
        unique_fields=["original"],
        update_fields=["kind", "state", "error_code", "updated_at"],
    )
    return rendition_set


def start(original_name, kind):
    """Create the pending set of an image just attached, in the worker:
    whether the image is still attached (the task makes its renditions
    then). Its object's row is locked meanwhile, so that a confirm replacing
    the image either commits first (then no set is made) or waits until the
    set exists (then that confirm's task forgets it). A set that exists
    already (the task run again) is left as it is."""
    target = get_target(kind)
    objects = target.model._default_manager.filter(**{target.field_name: original_name})
    with transaction.atomic():
        if not objects.select_for_update().exists():
            return False
        RenditionSet.objects.bulk_create(
            [RenditionSet(original=original_name, kind=kind, state=State.PENDING)],
            ignore_conflicts=True,
        )
    return True


def image_keys(original_name, kind, reason):
    """The keys an image no longer used leaves to delete, ``{key: reason}``,
    from its name alone: the original and the renditions its specs name.
    Confirm records them in its transaction, without reading the set."""
    return dict.fromkeys({media_key(original_name), *derived_keys(original_name, kind)}, reason)


def own_image_keys(name, site_id, kind, reason):
    """What a row of ``site_id`` leaves to delete when its image ``name``
    goes (a replace, a clear, the row deleted), ``{key: reason}``: the
    image and the renditions its specs name (``image_keys``) if it is the
    row's own, right in its site's folder (``uploads.keys.in_site_folder``);
    nothing for another's file (an old app's name, another site's)."""
    if not name or not in_site_folder(name, site_id, kind):
        return {}
    return image_keys(name, kind, reason)


def versions(keys):
    """``{original: updated_at}`` of the sets of the images among ``keys``,
    read before the task deletes them, for ``forget_deleted``; no read when
    there is no image among them (the upload every confirm records)."""
    names = image_names(keys)
    if not names:
        return {}
    sets = RenditionSet.objects.filter(original__in=names)
    return dict(sets.values_list("original", "updated_at"))


def forget_deleted(deleted, before):
    """Forget the sets of the originals among ``deleted`` ({key: reason}),
    just deleted, and record for deletion, with the original's reason, the
    renditions a set names beyond them (made with specs changed since);
    their keys. A replaced image, or an object deleted, is recorded with
    the renditions its specs name (``image_keys``), and its set goes here,
    in the worker, once the delete found that no other row names the
    image (``deletions.keys_in_use``).

    A set changed since ``before`` (``versions``, read before the deletes)
    was made meanwhile, by a worker that read the original before it went:
    its renditions may have been written after their delete, so they are
    recorded again. Left out as deleted, they stayed in the store, named
    by nothing."""
    # Only images have sets: the upload every confirm records, and
    # renditions, cost no read.
    names = {name: deleted[key] for name, key in image_names(deleted).items()}
    if not names:
        return []
    left = {}
    with transaction.atomic():
        # Locked: a making that finishes now is either seen here or, once
        # the set is gone, deletes what it wrote (``finish``).
        # In one order, as every lock of several rows here: two tasks
        # deleting some of the same images never wait on each other.
        sets = (
            RenditionSet.objects.select_for_update().filter(original__in=names).order_by("original")
        )
        for original, kind, updated_at in sets.values_list("original", "kind", "updated_at"):
            keys = forget(original, kind, names[original])
            if updated_at == before.get(original):
                keys = {key: reason for key, reason in keys.items() if key not in deleted}
            left.update(keys)
        return deletions.record(left)


def forget_orphans():
    """Forget the sets whose original no object of their kind uses any more
    (a replace whose task never ran) and record their renditions for
    deletion; how many. For ``purge_uploads``, which then deletes what is
    recorded."""
    forgotten = 0
    for kind, target in get_targets().items():
        field = target.field_name
        used = target.model._default_manager.exclude(**{f"{field}__isnull": True}).values(field)
        orphans = RenditionSet.objects.filter(kind=kind).exclude(original__in=used)
        orphans = list(orphans.values_list("original", flat=True))
        # An image a row of another kind names (a photo a site shows as its
        # logo), or names in another spelling, keeps its set.
        named = names_in_use(orphans)
        for name in orphans:
            if name in named:
                continue
            with transaction.atomic():
                deletions.record(forget(name, kind, PendingDeletion.Reason.REPLACED))
            forgotten += 1
    return forgotten


def forget(original_name, kind, reason):
    """Delete ``original_name``'s set, in the worker once the original is
    deleted (``forget_deleted``) or in ``purge_uploads``; returns its
    renditions' keys, ``{key: reason}``, for ``deletions.record``."""
    sets = RenditionSet.objects.filter(original=original_name)
    if returning.supported(sets):
        # One DELETE ... RETURNING rather than a read and a delete: it runs
        # after every confirm that replaces an image.
        recorded = returning.delete_returning(sets, "variants")
    else:
        recorded = list(sets.values_list("variants", flat=True))
        sets.delete()
    return dict.fromkeys(derived_keys(original_name, kind, recorded), reason)


def enqueue(original_name, attempt=1, run_after=None):
    """Hand the original to the task. Should the queue fail, the set stays
    pending, for the next ``purge_uploads`` after ``RENDITION_LEASE``."""
    from uploads.tasks import make_renditions

    task = make_renditions if run_after is None else make_renditions.using(run_after=run_after)
    try:
        task.enqueue(original_name, attempt=attempt)
    except Exception:
        logger.exception("Could not queue the renditions of %s", original_name)


@dataclass
class Restarts:
    """What ``restart_stalled`` did (would do, with ``dry_run``)."""

    # (original, makings started that did not end) of the sets queued again.
    queued: list = field(default_factory=list)
    # The same, of the sets failed (``interrupted``).
    given_up: list = field(default_factory=list)


def restart_stalled(*, dry_run=False, now=None):
    """Queue again the making of the sets left pending, with no making
    started for ``RENDITION_LEASE`` seconds; fail those whose last
    ``RENDITION_MAX_STARTS`` makings all started and never ended. For
    ``purge_uploads``, hourly.

    A task runs once: a worker killed while it makes a set (out of memory,
    a container restarted) leaves the set pending, which pages show as
    being made for good, and the task's row running, which the database
    backend never reclaims (django-tasks-db 0.13 has no such thing). The
    set tells: each making that starts counts itself (``begin``: the count
    and ``updated_at``), and one that ends, however it ends, sets the
    count back to 0, so a set still pending long after its last start has
    no making under way, and its count is the makings that died in a row. A set whose store failed
    ``ATTEMPTS`` times, or whose task was never queued, is left pending
    with no making dead: it is queued again, each run, until it is made.
    An image that kills the worker each time (more memory than it has) is
    not: it ends ``failed``, ``interrupted``, which pages show as a photo
    that could not be read, once and for all.

    Each set is taken by an UPDATE conditional on the ``updated_at`` it was
    read with: a making that started since, or another run of the command,
    has touched it, and it is left alone, so that no making is queued
    beside one under way, nor twice by two runs."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=upload_settings.RENDITION_LEASE)
    stalled = RenditionSet.objects.filter(state=State.PENDING, updated_at__lt=cutoff)
    restarts = Restarts()
    for pk, original, makings, updated_at in stalled.values_list(
        "pk", "original", "unfinished_makings", "updated_at"
    ):
        untouched = RenditionSet.objects.filter(pk=pk, state=State.PENDING, updated_at=updated_at)
        if makings >= upload_settings.RENDITION_MAX_STARTS:
            if dry_run or give_up(untouched):
                restarts.given_up.append((original, makings))
        elif dry_run or untouched.update(updated_at=now):
            if not dry_run:
                enqueue(original)
            restarts.queued.append((original, makings))
    return restarts


def give_up(untouched):
    """Fail the set of ``untouched`` (a queryset of it as it was read), if it
    is still so, as interrupted; whether it was."""
    with transaction.atomic():
        current = untouched.select_for_update().first()
        if current is None:
            return False
        logger.error(
            "Renditions of %s failed: %d makings in a row stopped the worker",
            current.original,
            current.unfinished_makings,
        )
        record(current, State.FAILED, error_code=Error.INTERRUPTED)
    return True


def originals(*, missing=False, failed=None):
    """``(name, kind)`` of the images of every registered target, for
    ``build_renditions``: all of them; with ``missing``, only those whose
    renditions were never made (no set, or one still pending); with
    ``failed``, a collection of error codes, only those whose set failed
    with one of them (any, if it is empty): the sets an operator's change
    may mend (more memory for ``interrupted``, a higher pixel limit for
    ``too_large``, an original put back for ``missing``)."""
    done = RenditionSet.objects.exclude(state=State.PENDING).values("original")
    broken = RenditionSet.objects.filter(state=State.FAILED)
    if failed:
        broken = broken.filter(error_code__in=failed)
    for kind, target in sorted(get_targets().items()):
        field = target.field_name
        names = target.model._default_manager.exclude(**{field: ""}).exclude(
            **{f"{field}__isnull": True}
        )
        if missing:
            names = names.exclude(**{f"{field}__in": done})
        if failed is not None:
            names = names.filter(**{f"{field}__in": broken.values("original")})
        yield from ((name, kind) for name in names.values_list(field, flat=True).iterator())


# --- Making -----------------------------------------------------------------


def make(original_name, *, attempt=1, force=False):
    """Make the renditions of a pending set (any set with ``force``); the
    set's state afterwards, or ``None`` if it is gone. Idempotent: a set
    that is ready or failed is left as it is, and rendition names are
    fixed, so a second run overwrites the first's objects.

    A store that fails is tried again later (``ATTEMPTS``); an original
    that does not decode fully ends ``failed``. A making that never ends
    (the worker killed) is counted by the set it began (``begin``), for
    ``restart_stalled``."""
    rendition_set = begin(original_name, force=force)
    if rendition_set is None:
        # Made already (a task queued twice), or gone: the update matched
        # nothing, and a read tells which; rarely.
        sets = RenditionSet.objects.filter(original=original_name)
        return sets.values_list("state", flat=True).first()
    specs = specs_of(rendition_set.kind)
    target = get_target(rendition_set.kind)
    try:
        data = read_original(original_name)
        images = render(data, specs, max_pixels=target.get_max_pixels())
        variants = {
            spec.name: store(rendition_name(original_name, spec), *images[spec.name])
            for spec in specs
        }
    except Undecodable as error:
        logger.warning("Renditions of %s failed: %s", original_name, error)
        return finish(rendition_set, State.FAILED, error_code=error.code)
    except FileNotFoundError:
        logger.warning("Renditions of %s failed: the original is missing", original_name)
        return finish(rendition_set, State.FAILED, error_code=Error.MISSING)
    except Exception:
        logger.exception("Could not make the renditions of %s (try %d)", original_name, attempt)
        if not end(rendition_set):
            # Replaced or removed meanwhile: no later try will run, so the
            # renditions this one wrote before the store failed go now.
            discard(rendition_name(original_name, spec) for spec in specs)
            return None
        retry_later(original_name, attempt)
        return State.PENDING
    return finish(rendition_set, State.READY, variants=variants)


def begin(original_name, *, force=False):
    """The set of ``original_name`` if it is pending (whatever its state
    with ``force``), counted as one more making under way: its
    ``unfinished_makings`` up by one, and ``updated_at`` now; the making's
    end (``finish``, ``end``) sets the count back to 0; ``None`` if there
    is no such set. What ``restart_stalled`` reads to find the makings that
    died.

    One UPDATE ... RETURNING, in place of the read of the set a making did
    before (``uploads.returning``): the count costs the worker's making no
    query. On a database without it, the update and then that read."""
    sets = RenditionSet.objects.filter(original=original_name)
    if not force:
        sets = sets.filter(state=State.PENDING)
    started = {"unfinished_makings": F("unfinished_makings") + 1, "updated_at": timezone.now()}
    if returning.supported(sets):
        (rendition_set,) = returning.update_returning(sets, started) or (None,)
        return rendition_set
    return sets.first() if sets.update(**started) else None


def end(rendition_set):
    """End a making of ``rendition_set`` that leaves the set pending (the
    store failed: tried again later); whether the set is still there. One
    UPDATE, in place of the read that asked that before.

    The count goes to 0, as in ``finish``: this making did not die, so it
    ends the row of those that did. Counted down instead, the deaths before
    it stayed, those ``reset`` keeps too: a set given up that
    ``build_renditions`` met a store failing on was given up again by the
    next ``purge_uploads``, three makings "in a row" counted across one
    that ended."""
    sets = RenditionSet.objects.filter(pk=rendition_set.pk)
    return bool(sets.update(unfinished_makings=0))


def finish(rendition_set, state, *, error_code="", variants=None):
    """Record the outcome, unless the original was replaced or removed
    meanwhile: then what was written goes too (its deletion, scheduled with
    the original's, may have run before it was written).

    The set's count of makings goes to 0, not down by one: a making that
    ends breaks the row of those that died before it (``restart_stalled``
    gives up after ``RENDITION_MAX_STARTS`` in a row; ``reset`` keeps it)."""
    made = {variant["name"] for variant in (variants or {}).values()}
    with transaction.atomic():
        current = RenditionSet.objects.select_for_update().filter(pk=rendition_set.pk).first()
        if current is None:
            discard(made)
            return None
        current.unfinished_makings = 0
        record(current, state, error_code=error_code, variants=variants)
        return state


def record(current, state, *, error_code="", variants=None):
    """Write ``state`` on the set ``current``, read locked. Renditions the
    set recorded that the new ones do not overwrite (made before a change
    of specs, or of ``rendition_name``; all of them for a set that failed)
    go once the outcome commits."""
    variants = variants or {}
    made = {variant["name"] for variant in variants.values()}
    recorded = {resolved_name(variant["name"]) for variant in current.variants.values()}
    discard(recorded - made, PendingDeletion.Reason.REPLACED)
    current.state = state
    current.error_code = error_code
    current.variants = variants
    current.save(
        update_fields=["state", "error_code", "variants", "unfinished_makings", "updated_at"]
    )


def discard(names, reason=PendingDeletion.Reason.UNATTACHED):
    """Schedule the deletion of renditions no set records: written for a set
    that is gone, or replaced by the set's new ones (``REPLACED``), each
    by the key of its name as the storages resolve it (``rendition_key``)."""
    keys = {rendition_key(name) for name in names}
    deletions.schedule(dict.fromkeys(keys, reason))


def retry_later(original_name, attempt):
    """Queue the next try, with the deletions' doubling delays. A backend
    that cannot defer (the immediate one), or the last try, leaves the set
    pending, for ``purge_uploads`` to queue again once ``RENDITION_LEASE``
    has passed (``restart_stalled``)."""
    from uploads.tasks import make_renditions

    if attempt >= ATTEMPTS or not make_renditions.get_backend().supports_defer:
        return
    enqueue(original_name, attempt + 1, run_after=timezone.now() + deletions.backoff(attempt))


def read_original(name):
    """The original's bytes: at most the target's ``max_size``, checked at
    confirm."""
    with default_storage.open(name, "rb") as original:
        return original.read()


def store(name, data, width, height):
    """Write one rendition at its fixed name, over any earlier one in one
    step (the media storages' ``overwrite``); its ``variants`` entry.

    Never deleted first: another making of the set (``build_renditions``
    beside the worker, a task queued twice) may have finished it, ready,
    naming that object, and this one, failing or killed before it wrote
    again, left the set linking to nothing, which no later try remade."""
    default_storage.overwrite(name, ContentFile(data))
    return {"name": name, "width": width, "height": height, "size": len(data)}


# --- Pixels -----------------------------------------------------------------


def render(data, specs, *, max_pixels):
    """``{spec name: (webp bytes, width, height)}`` of the image ``data``.

    ``Undecodable`` unless every byte of the image decodes: re-encoding
    only what decoded leaves behind whatever followed it (HTML after a
    JPEG's end marker), and a truncated file must not pass for an image."""
    image = decode(data, max(spec.max_side for spec in specs), max_pixels)
    out = {}
    for spec in sorted(specs, key=lambda spec: spec.max_side, reverse=True):
        # Each from the one before, which is then let go: the full-size
        # image lives only until the largest rendition is made.
        image = fit(image, spec.max_side)
        out[spec.name] = (encode(image, spec), *image.size)
    return out


def fit(image, max_side):
    """``image`` scaled down to fit ``max_side`` (never up): ``reduce`` by
    a whole factor first (cheap, box), then Lanczos for the rest."""
    scale = max_side / max(image.size)
    if scale >= 1:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)


def decode(data, max_side, max_pixels):
    """The image of ``data`` decoded in full, oriented, in sRGB, without
    metadata, at no less than ``max_side`` on its longer side when it was
    that large."""
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES would let truncated files pass.")
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
        width, height = image.size
        if width * height > max_pixels:
            raise Undecodable(Error.TOO_LARGE, f"{width} x {height}")
        if image.format in ("JPEG", "MPO"):
            # Decode at 1/2, 1/4 or 1/8 scale when that still covers
            # max_side: a twelfth of the memory and time for a 12 MP photo.
            # Pillow opens a JPEG holding more pictures (a preview or a
            # depth map, as many phones write) as MPO, a JPEG all the same.
            scale = min(1.0, max_side / max(width, height))
            image.draft(None, (math.ceil(width * scale), math.ceil(height * scale)))
            # Each scan is a pass over every block, whatever the scale:
            # too many take minutes (uploads.inspect.MAX_SCANS).
            if too_many_scans(data):
                raise Undecodable(Error.TOO_LARGE, f"over {MAX_SCANS} scans")
        image.load()
        icc_profile = image.info.get("icc_profile")
        orient(image)
        if image.mode == "CMYK" and icc_profile:
            # Inks are a colour only through their press's profile: turned
            # into RGB by normal_mode first, they would no longer match it.
            image, icc_profile = to_srgb(image, icc_profile), None
        image = to_srgb(normal_mode(image), icc_profile)
    except Undecodable:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise Undecodable(Error.UNDECODABLE, str(error)) from error
    image.info = {}
    return image


# What Pillow raises for an EXIF it cannot read.
EXIF_ERRORS = (SyntaxError, ValueError, struct.error)


def orient(image):
    """Turn ``image`` as its EXIF orientation says, in place (no copy of the
    pixels). The EXIF is read, then dropped before Pillow would write it
    back without the orientation: the renditions keep none, and an EXIF
    that reads may not write (a tag of the wrong type: ``struct.error``,
    ``AttributeError``), which kept the set pending, retried as a failing
    store is.

    An EXIF that does not read (a header that is no TIFF's or is cut
    short, a PNG's hex text that is not hex) orients nothing, as Pillow
    treats a JPEG's when it opens one: the pixels decoded, and the
    renditions drop the EXIF anyway. Read from a PNG or a WebP, it failed
    the set, or (``struct.error``) kept it pending, retried as a failing
    store is."""
    try:
        # Read once, and kept by the image for exif_transpose, which does
        # not read it again (even one that did not read: then it is empty).
        image.getexif()
    except EXIF_ERRORS:
        pass
    for key in ("exif", "Raw profile type exif"):
        image.info.pop(key, None)
    ImageOps.exif_transpose(image, in_place=True)


def normal_mode(image):
    """RGBA if the image has any transparency, else RGB (or L for grey)."""
    if image.mode.startswith("I"):
        # 16-bit grey (PNG): scaled to 8 bits, which convert() would clip.
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    elif image.mode in ("1", "F"):
        image = image.convert("L")
    if image.mode == "P" or (image.mode in ("RGB", "L") and "transparency" in image.info):
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        image = image.convert("RGBA")
        if image.getextrema()[3][0] == 255:  # opaque throughout
            image = image.convert("RGB")
    elif image.mode not in ("RGB", "L"):
        image = image.convert("RGB")  # CMYK, YCbCr
    return image


def to_srgb(image, icc_profile):
    """Pixels converted to sRGB by their ICC profile (CMYK ones to RGB),
    which then goes with the rest of the metadata; pixels as they are if it
    cannot be read, or is not of their colour space."""
    if not icc_profile or image.mode == "L":
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        return ImageCms.profileToProfile(
            image,
            source,
            ImageCms.createProfile("sRGB"),
            outputMode="RGB" if image.mode == "CMYK" else image.mode,
        )
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image


def encode(image, spec):
    buffer = io.BytesIO()
    # No exif, xmp or icc_profile given: WebP gets none.
    image.save(buffer, "WEBP", quality=spec.quality, method=spec.method)
    return buffer.getvalue()
