"""Renditions: what viewers get instead of the uploader's bytes, made after
confirm commits, gone with their original."""

import io
import struct
from types import SimpleNamespace

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from PIL import Image

from inventory.models import Product
from tests.support.images import (
    HTML_PAYLOAD,
    black_ink_profile,
    image_bytes,
    jpeg,
    jpeg_then_html,
    logo_with_alpha,
    mpo,
    photo_with_exif,
    png,
    png_chunk,
    progressive_jpeg,
    truncated,
    webp,
)
from tests.support.renditions import name_after_stem
from tests.support.tickets import confirm, issue
from uploads import renditions, tasks
from uploads.inspect import MAX_SCANS
from uploads.keys import media_key
from uploads.models import PendingDeletion, RenditionSet
from uploads.renditions import DEFAULT_RENDITIONS, RenditionSpec, Undecodable, rendition_name
from uploads.targets import get_target, get_targets

# Renditions are queued on commit: real commits.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.renditions]
SPECS = {spec.name for spec in DEFAULT_RENDITIONS}


def attach(store, api, product, body, content_type="image/jpeg"):
    """Upload and confirm ``body``; the confirm's answer."""
    ticket = issue(api, product, body, content_type=content_type)
    assert store.post(ticket["upload"], body) in (200, 201, 204)
    response = confirm(api, ticket)
    assert response.status_code == 200, response.json()
    return response.json()


def rendition_set(product):
    product.refresh_from_db()
    return RenditionSet.objects.get(original=product.image.name)


def variant_image(store, rendition_set, spec):
    data = store.read(media_key(rendition_set.variants[spec]["name"]))
    return data, Image.open(io.BytesIO(data))


def test_a_photo_s_renditions_carry_none_of_its_metadata(store, api, product):
    original = photo_with_exif(size=(400, 300))
    attach(store, api, product, original)

    made = rendition_set(product)

    assert made.is_ready and set(made.variants) == SPECS
    assert b"<script>" in original and b"Phone" in original
    for spec in SPECS:
        data, image = variant_image(store, made, spec)
        assert image.format == "WEBP"
        assert not image.getexif(), "no EXIF, so no GPS"
        assert not {"exif", "xmp", "icc_profile", "comment"} & set(image.info)
        assert b"<script>" not in data and b"Phone" not in data
        assert made.variants[spec]["size"] == len(data)
        assert made.url(spec)
        if store.mode == "s3":
            key = media_key(made.variants[spec]["name"])
            head = store.client.head_object(Bucket=store.bucket, Key=key)
            assert head["ContentType"] == "image/webp"


def test_renditions_fit_their_sizes_and_are_never_enlarged(store, api, product):
    attach(store, api, product, jpeg(size=(2000, 1500)))

    variants = rendition_set(product).variants

    sizes = {spec: (v["width"], v["height"]) for spec, v in variants.items()}
    assert sizes == {"display": (1600, 1200), "thumb": (200, 150), "thumb_small": (100, 75)}
    attach(store, api, product, jpeg(size=(150, 90)))
    small = rendition_set(product).variants
    assert (small["display"]["width"], small["thumb"]["width"]) == (150, 150)


def test_a_phone_photo_holding_a_second_picture_gets_its_renditions(store, api, product):
    """Multi-Picture JPEGs (a preview or a depth map after the photo), as
    many phones write: renditions of the photo, at reduced-scale decode."""
    attach(store, api, product, mpo(size=(2000, 1500), color=(200, 30, 30)))

    made = rendition_set(product)

    assert made.is_ready
    _, image = variant_image(store, made, "display")
    assert image.size == (1600, 1200)
    red = image.convert("RGB").getpixel((800, 600))
    assert red[0] > 180 > red[2], "the photo, not the picture after it"


def test_the_exif_orientation_is_applied(store, api, product):
    # Stored sideways, left half red: orientation 6 turns it a quarter
    # clockwise for display, so the red half is on top.
    attach(store, api, product, photo_with_exif(size=(60, 40), orientation=6))

    _, image = variant_image(store, rendition_set(product), "display")

    assert image.size == (40, 60)
    image = image.convert("RGB")
    red, blue = image.getpixel((20, 10)), image.getpixel((20, 50))
    assert red[0] > 200 > red[2] and blue[2] > 200 > blue[0]


@pytest.mark.parametrize(
    "original, content_type",
    [
        (jpeg_then_html(), "image/jpeg"),
        (png() + HTML_PAYLOAD, "image/png"),
        (webp() + HTML_PAYLOAD * 1000, "image/webp"),
    ],
    ids=["jpeg", "png", "webp"],
)
def test_html_after_the_image_does_not_come_back(store, api, product, original, content_type):
    attach(store, api, product, original, content_type)

    made = rendition_set(product)

    assert HTML_PAYLOAD in store.read(media_key(made.original)), "the original as sent"
    for spec in SPECS:
        data, image = variant_image(store, made, spec)
        assert HTML_PAYLOAD not in data and b"<html" not in data
        image.load()


@pytest.mark.parametrize(
    "body, content_type",
    [
        (truncated(jpeg((400, 300))), "image/jpeg"),
        (truncated(png((400, 300))), "image/png"),
    ],
    ids=["jpeg", "png"],  # confirm refuses a truncated WebP itself
)
def test_a_truncated_image_ends_failed_with_no_rendition(store, api, product, body, content_type):
    answer = attach(store, api, product, body, content_type)

    made = rendition_set(product)

    assert answer["key"] in store.keys(), "confirm read the header only: it attached it"
    assert (made.state, made.error_code) == ("failed", "undecodable")
    assert made.is_failed and not made.variants
    assert made.url("thumb") is None
    assert not store.rendition_keys()


def test_a_logo_keeps_its_transparency_and_a_photo_gets_none(store, api, product, site):
    attach(store, api, product, logo_with_alpha(), "image/png")
    _, logo = variant_image(store, rendition_set(product), "thumb")
    assert logo.mode == "RGBA"
    assert logo.getpixel((5, 5))[3] == 255 and logo.getpixel((75, 5))[3] == 0

    other = Product.objects.create(site_configuration=site, name="Thé", cug="T-1")
    attach(store, api, other, png(), "image/png")
    _, photo = variant_image(store, rendition_set(other), "thumb")
    assert photo.mode == "RGB", "an opaque PNG loses its useless alpha"


def test_replacing_an_image_removes_its_renditions_after_commit(store, api, product):
    attach(store, api, product, jpeg(color=(1, 2, 3)))
    first = rendition_set(product)
    first_keys = {media_key(v["name"]) for v in first.variants.values()}
    assert first_keys <= set(store.rendition_keys())

    attach(store, api, product, jpeg(color=(200, 2, 3)))

    second = rendition_set(product)
    assert not RenditionSet.objects.filter(pk=first.pk).exists()
    assert set(store.rendition_keys()) == {media_key(v["name"]) for v in second.variants.values()}


def test_deleting_the_owner_removes_its_renditions_after_commit(store, api, product):
    attach(store, api, product, jpeg())
    assert store.rendition_keys()

    Product.objects.get(pk=product.pk).delete()

    assert not store.rendition_keys() and not store.keys()
    assert not RenditionSet.objects.exists()


def test_the_task_is_idempotent(store, api, product):
    attach(store, api, product, jpeg(size=(300, 200)))
    made = rendition_set(product)
    keys = store.rendition_keys()

    assert renditions.make(made.original) == "ready", "a ready set is left as it is"
    assert renditions.make(made.original, force=True) == "ready"

    again = rendition_set(product)
    assert store.rendition_keys() == keys, "the same objects, rewritten in place"
    assert again.variants == made.variants
    assert renditions.make("sites/1/products/gone.jpg") is None


def test_a_store_failure_is_retried_later_by_the_worker(
    store, api, product, task_worker, settings, monkeypatch
):
    settings.UPLOADS = {**settings.UPLOADS, "DELETE_RETRY_DELAY": 0}
    failures = iter([OSError("store down")])

    def read_failing_once(*args, **kwargs):
        for failure in failures:
            raise failure
        return opened(*args, **kwargs)

    opened = renditions.read_original
    monkeypatch.setattr(renditions, "read_original", read_failing_once)
    attach(store, api, product, jpeg())

    task_worker()  # fails, queues the next try
    task_worker()

    assert rendition_set(product).is_ready


def all_keys(store):
    return set(store.keys()) | set(store.rendition_keys())


def test_confirm_leaves_the_rendition_sets_to_the_worker(store, api, product, task_worker):
    """Confirm writes no rendition set (issue 17): until the worker runs,
    the new image has none and reads as pending, and the replaced image's
    objects are recorded for deletion, not deleted; the worker forgets the
    replaced set, deletes its objects and makes the new set."""
    attach(store, api, product, jpeg(color=(1, 2, 3)))
    task_worker()
    first = rendition_set(product)
    old_keys = {media_key(first.original), *(media_key(v["name"]) for v in first.variants.values())}

    attach(store, api, product, jpeg(color=(200, 2, 3)))

    product.refresh_from_db()
    assert not RenditionSet.objects.filter(original=product.image.name).exists()
    assert api.get(f"/api/products/{product.pk}/").json()["image_state"] == "pending"
    assert old_keys <= set(PendingDeletion.objects.values_list("key", flat=True))
    assert old_keys <= all_keys(store)
    task_worker()
    assert not RenditionSet.objects.filter(pk=first.pk).exists()
    assert rendition_set(product).is_ready
    assert not old_keys & all_keys(store)


def test_a_task_run_after_its_image_was_replaced_makes_no_set(store, api, product):
    """The first image's task may run after the confirm that replaced it,
    and after that confirm's task (a slow queue, a retry): it makes no set,
    which nothing would ever forget, and no renditions."""
    first = attach(store, api, product, jpeg(color=(1, 2, 3)))
    attach(store, api, product, jpeg(color=(200, 2, 3)))
    current = rendition_set(product)

    late = tasks.image_attached.call(first["key"].removeprefix("media/"), [], "product")

    assert late["renditions"] is None
    assert list(RenditionSet.objects.values_list("original", flat=True)) == [current.original]
    made = {media_key(v["name"]) for v in current.variants.values()}
    assert set(store.rendition_keys()) == made


def test_a_task_queued_by_the_earlier_release_still_makes_its_renditions(store, api, product):
    """Tasks queued before an upgrade name no kind: their confirm made the
    set, pending, and the task makes it."""
    attach(store, api, product, jpeg())
    made = rendition_set(product)
    renditions.reset(made.original, "product")

    assert tasks.image_attached.call(made.original, [])["renditions"] == "ready"


def test_renditions_of_specs_changed_since_go_with_the_replaced_image(
    store, api, product, task_worker, monkeypatch
):
    """Confirm records the renditions the specs name now; those made with
    earlier specs are recorded by the worker, from the replaced set."""
    attach(store, api, product, jpeg(color=(1, 2, 3)))
    task_worker()
    earlier = {media_key(v["name"]) for v in rendition_set(product).variants.values()}
    target = get_target("product")
    monkeypatch.setattr(target, "renditions", (RenditionSpec("thumb", 120, quality=70),))

    attach(store, api, product, jpeg(color=(200, 2, 3)))
    task_worker()

    assert earlier and not earlier & set(store.rendition_keys())
    assert len(store.rendition_keys()) == 1


def test_the_worker_asks_once_whether_a_row_names_the_image_a_confirm_replaced(
    store, api, product, task_worker
):
    """Whether a row names the replaced image is a read of every target's
    table, each row holding its name's last part: the task asks it once,
    when it deletes the image, and forgets the set of an image it deleted
    (asked first by the task, then again by the delete, it read each table
    twice per replace, and two answers could differ)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first = attach(store, api, product, jpeg(color=(1, 2, 3)))
    task_worker()
    attach(store, api, product, jpeg(color=(200, 2, 3)))

    with CaptureQueriesContext(connection) as queries:
        task_worker()

    looked_up = [q["sql"] for q in queries if "INSTR(" in q["sql"] or "STRPOS(" in q["sql"]]
    assert len(looked_up) == len(get_targets()), looked_up
    assert first["key"] not in store.keys()
    assert list(RenditionSet.objects.values_list("original", flat=True)) == [
        Product.objects.get(pk=product.pk).image.name
    ]
    assert not PendingDeletion.objects.exists()


def test_renditions_of_specs_changed_since_go_with_a_deleted_object(
    store, api, product, task_worker, monkeypatch
):
    """A deleted object records the renditions the specs name now; those
    made with earlier specs go with its set, which the worker forgets once
    the image is deleted."""
    attach(store, api, product, jpeg(color=(1, 2, 3)))
    task_worker()
    assert store.rendition_keys()
    monkeypatch.setattr(
        get_target("product"), "renditions", (RenditionSpec("thumb", 120, quality=70),)
    )

    Product.objects.get(pk=product.pk).delete()
    task_worker()

    assert not store.rendition_keys() and not store.keys()
    assert not RenditionSet.objects.exists()
    assert not PendingDeletion.objects.exists()


def queue_is_down(*args, **kwargs):
    raise OSError("the queue is down")


def test_purge_forgets_the_set_of_an_image_replaced_by_a_task_never_queued(
    store, api, product, task_worker, monkeypatch
):
    attach(store, api, product, jpeg(color=(1, 2, 3)))
    task_worker()
    first = rendition_set(product)
    old_renditions = {media_key(v["name"]) for v in first.variants.values()}
    with monkeypatch.context() as queue_down:
        queue_down.setattr(tasks, "image_attached", SimpleNamespace(enqueue=queue_is_down))
        attach(store, api, product, jpeg(color=(200, 2, 3)))
    product.refresh_from_db()

    output = io.StringIO()
    call_command("purge_uploads", stdout=output)

    assert "Forgot the renditions of 1 image(s) no object uses." in output.getvalue()

    assert not RenditionSet.objects.filter(pk=first.pk).exists()
    assert not old_renditions & set(store.rendition_keys())
    assert set(store.keys()) == {media_key(product.image.name)}
    # The new image has no set: build_renditions makes it.
    assert (product.image.name, "product") in set(renditions.originals(missing=True))


def test_renditions_written_for_an_original_removed_meanwhile_are_deleted(
    store, api, product, monkeypatch
):
    """The worker may finish after the original was replaced and its
    renditions' deletion ran: what it wrote then is deleted too."""
    attach(store, api, product, jpeg())
    name = rendition_set(product).original
    real_render = renditions.render

    def render_then_lose_the_original(*args, **kwargs):
        result = real_render(*args, **kwargs)
        RenditionSet.objects.filter(original=name).delete()
        return result

    monkeypatch.setattr(renditions, "render", render_then_lose_the_original)

    assert renditions.make(name, force=True) is None
    assert not store.rendition_keys()


def test_renditions_written_while_the_replace_deletes_them_go_too(store, api, product, monkeypatch):
    """The first photo's renditions are being made when it is replaced: the
    worker making them read it before the replace's task deleted it, wrote
    them after that task deleted its renditions, and marked its set ready
    before that task forgot it. The task, taking those renditions for
    deleted, left them in the store, named by nothing."""
    first = attach(store, api, product, jpeg(color=(1, 2, 3)))["key"].removeprefix("media/")
    # Its set pending, none of its renditions written yet.
    made = RenditionSet.objects.get(original=first)
    for variant in made.variants.values():
        store.delete(media_key(variant["name"]))
    made.delete()
    assert renditions.start(first, "product")
    photo = store.read(media_key(first))
    forget_deleted = renditions.forget_deleted

    def the_making_finishes_first(deleted, before):
        with monkeypatch.context() as read_before_the_delete:
            read_before_the_delete.setattr(renditions, "read_original", lambda name: photo)
            assert renditions.make(first) == "ready"
        return forget_deleted(deleted, before)

    monkeypatch.setattr(renditions, "forget_deleted", the_making_finishes_first)
    attach(store, api, product, jpeg(color=(200, 2, 3)))

    theirs = {media_key(rendition_name(first, spec)) for spec in DEFAULT_RENDITIONS}
    assert not theirs & set(store.rendition_keys())
    assert not PendingDeletion.objects.exists()
    assert len(store.rendition_keys()) == len(DEFAULT_RENDITIONS), "the new photo's"


def test_renditions_written_before_a_store_failure_go_if_the_original_went_meanwhile(
    store, api, product, monkeypatch
):
    """The original is replaced while the worker writes its renditions, and
    the store fails before the last one: no later try will run for a set
    that is gone, so the renditions written go now."""
    attach(store, api, product, jpeg())
    name = rendition_set(product).original
    real_store = renditions.store
    written = []

    def store_then_fail(*args, **kwargs):
        if len(written) == len(DEFAULT_RENDITIONS) - 1:
            RenditionSet.objects.filter(original=name).delete()
            raise OSError("store down")
        written.append(real_store(*args, **kwargs))
        return written[-1]

    monkeypatch.setattr(renditions, "store", store_then_fail)

    assert renditions.make(name, force=True) is None
    assert written and not store.rendition_keys()


class StoreStopsAnswering(ContentFile):
    """A rendition's bytes that never reach the store: it stopped answering."""

    def read(self, *args):
        raise OSError("the store stopped answering")

    def chunks(self, chunk_size=None):
        raise OSError("the store stopped answering")


def test_a_making_that_fails_never_takes_a_rendition_from_a_set_made_meanwhile(
    store, api, product, monkeypatch
):
    """Two makings of one set (``build_renditions`` beside the worker, a
    task queued twice): one finished it, ready; the other deleted each
    rendition before writing it again, and the store failed in between
    (or the worker was killed). The set read ready, linking to a deleted
    rendition, and the next try, finding it ready, left it so."""
    attach(store, api, product, jpeg())
    made = rendition_set(product)
    monkeypatch.setattr(renditions, "ContentFile", StoreStopsAnswering)

    assert renditions.make(made.original, force=True) == "pending"

    assert rendition_set(product).is_ready
    for variant in made.variants.values():
        assert store.read(media_key(variant["name"]))
    assert not [key for key in store.all_keys() if key.endswith(".tmp")]


def test_names_derive_from_the_original_in_its_folder_and_the_specs_settings():
    thumb = RenditionSpec("thumb", 200)
    name = rendition_name("sites/3/products/ab12.jpg", thumb)
    assert name.startswith("sites/3/products/renditions/")
    assert name.endswith("-thumb-200q80m4.webp")
    assert name == rendition_name("sites/3/products/ab12.jpg", thumb), "fixed, from the name"
    # Other settings, other bytes: another name, so another URL for caches
    # that keep the objects as immutable.
    assert rendition_name("sites/3/products/ab12.jpg", RenditionSpec("thumb", 240)) != name
    # Two originals of one stem have renditions of their own.
    assert rendition_name("sites/3/products/ab12.png", thumb) != name


def test_a_renditions_name_does_not_lead_to_its_original(store, api, product):
    """Everyone who sees a photo gets its renditions' URLs; only the site's
    admins get the original's. Where URLs are plain (a CDN), a rendition
    named after the original's stem gave the original's URL to anyone."""
    attach(store, api, product, jpeg())
    product.refresh_from_db()
    stem = product.image.name.rsplit("/", 1)[1].partition(".")[0]

    names = [variant["name"] for variant in rendition_set(product).variants.values()]

    assert len(names) == len(SPECS)
    assert not [name for name in names if stem in name]


def jpeg_with_raw_exif(size, entries):
    """A JPEG whose EXIF is the IFD ``entries`` (``(tag, type, count,
    4-byte value or offset)``, little-endian), followed by 8 bytes of data
    at offset 26 (a rational's, for an entry that points there)."""
    ifd = struct.pack("<H", len(entries))
    ifd += b"".join(struct.pack("<HHI", *entry[:3]) + entry[3] for entry in entries)
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0)
    tiff += struct.pack("<II", 1, 2)
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(buffer, "JPEG", exif=b"Exif\x00\x00" + tiff)
    return buffer.getvalue()


def test_an_exif_that_reads_but_would_not_be_written_back_still_renders():
    """Pillow writes a photo's EXIF back without its orientation once it
    turned it, and fails on a tag of the wrong type (the camera's make as a
    number): the set stayed pending, retried as a failing store is. The
    renditions keep no EXIF, so none is written back."""
    SHORT, RATIONAL = 3, 5
    orientation = (0x0112, SHORT, 1, struct.pack("<HH", 6, 0))
    make_as_a_number = (0x010F, RATIONAL, 1, struct.pack("<I", 8 + 2 + 2 * 12 + 4))
    data = jpeg_with_raw_exif((60, 40), [orientation, make_as_a_number])
    with Image.open(io.BytesIO(data)) as image:
        assert image.getexif()[0x0112] == 6

    made = renditions.render(data, DEFAULT_RENDITIONS, max_pixels=10**6)

    assert made["display"][1:] == (40, 60), "turned a quarter, as its orientation says"


# EXIF blocks Pillow cannot read: its header read as a BigTIFF's or a
# TIFF's, cut short (struct.error), or no TIFF header at all (SyntaxError).
UNREADABLE_EXIF = {
    "bigtiff-cut-short": b"II+\x00\x08\x00\x00\x00",
    "tiff-cut-short": b"II*\x00",
    "not-tiff": b"GIF89a\x00\x00",
}


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
@pytest.mark.parametrize("exif", UNREADABLE_EXIF.values(), ids=UNREADABLE_EXIF)
def test_an_exif_that_does_not_read_orients_nothing(fmt, exif):
    """The pixels decode: the renditions are made, unturned, as Pillow
    opens a JPEG with such an EXIF. The set failed, or stayed pending
    (``struct.error``), retried as a failing store is."""
    made = renditions.render(
        image_bytes(fmt, (60, 40), exif=exif), DEFAULT_RENDITIONS, max_pixels=10**6
    )

    assert made["display"][1:] == (60, 40)


def test_a_png_exif_written_as_text_that_is_not_hex_orients_nothing():
    text = png_chunk(b"tEXt", b"Raw profile type exif\0\nexif\n      8\nnot hex\n")
    image = png((60, 40))
    end_of_header = 8 + 25  # signature, IHDR

    made = renditions.render(
        image[:end_of_header] + text + image[end_of_header:], DEFAULT_RENDITIONS, max_pixels=10**6
    )

    assert made["display"][1:] == (60, 40)


def test_a_photo_whose_exif_does_not_read_ends_ready_not_pending(store, api, product):
    bigtiff_cut_short = UNREADABLE_EXIF["bigtiff-cut-short"]
    attach(store, api, product, image_bytes("PNG", exif=bigtiff_cut_short), "image/png")

    assert rendition_set(product).is_ready


def test_a_cmyk_photo_s_colours_come_from_its_profile():
    """Ink amounts are a colour only through the press's profile: turned
    into RGB first (Pillow's conversion, which knows no press), they no
    longer matched the profile, which was dropped unapplied."""
    red_inks = Image.new("CMYK", (60, 40), (0, 255, 255, 0))
    with_profile, without = io.BytesIO(), io.BytesIO()
    red_inks.save(with_profile, "JPEG", icc_profile=black_ink_profile())
    red_inks.save(without, "JPEG")

    printed = renditions.decode(with_profile.getvalue(), 100, max_pixels=10**6)
    guessed = renditions.decode(without.getvalue(), 100, max_pixels=10**6)

    assert printed.mode == "RGB"
    assert min(printed.getpixel((30, 20))) > 250, "this press prints no colour ink"
    red, green, _ = guessed.getpixel((30, 20))
    assert red > 250 > 5 > green, "without a profile, Pillow's conversion"


def test_an_image_beyond_the_pixel_limit_is_not_decoded():
    with pytest.raises(Undecodable) as error:
        renditions.render(jpeg(size=(200, 100)), [RenditionSpec("x", 50)], max_pixels=19_999)
    assert error.value.code == "too_large"


@pytest.mark.parametrize(
    "make_image, content_type",
    [(jpeg, "image/jpeg"), (png, "image/png"), (webp, "image/webp")],
    ids=["jpeg", "png", "webp"],
)
def test_the_worker_renders_every_image_confirm_accepts(
    store, api, product, settings, make_image, content_type
):
    """One pixel limit, the target's, at confirm and in the worker, for
    every format: what confirm accepts is rendered, what it refuses is
    never attached (the worker's memory is sized by that limit, see
    tests/benchmarks/bench_renditions.py)."""
    settings.UPLOADS = {**settings.UPLOADS, "MAX_PIXELS": 300 * 200}
    attach(store, api, product, make_image(size=(300, 200)), content_type)

    made = rendition_set(product)

    assert made.is_ready, made.error_code
    assert made.variants["display"]["width"] == 300
    ticket = issue(api, product, make_image(size=(301, 200)), content_type=content_type)
    assert store.post(ticket["upload"], make_image(size=(301, 200))) in (200, 201, 204)
    refused = confirm(api, ticket)
    assert (refused.status_code, refused.json()["code"]) == (422, "image_too_large")
    assert rendition_set(product).variants == made.variants, "the image attached before stays"


def test_a_jpeg_of_too_many_scans_is_not_decoded():
    """Each scan is a pass of the decoder over every block, for a few bytes:
    1,000 held the worker 19 s on a 40 MP image, and a 10 MB file of them
    would hold it most of an hour, while every other image waited."""
    made = renditions.render(
        progressive_jpeg(extra_scans=MAX_SCANS - 10), DEFAULT_RENDITIONS, max_pixels=10**6
    )
    assert made["display"][1:] == (64, 48)

    with pytest.raises(Undecodable) as error:
        renditions.render(
            progressive_jpeg(extra_scans=MAX_SCANS - 9), DEFAULT_RENDITIONS, max_pixels=10**6
        )

    assert error.value.code == "too_large"


def test_only_the_formats_confirm_accepts_are_decoded():
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    with pytest.raises(Undecodable):
        renditions.render(gif.getvalue(), DEFAULT_RENDITIONS, max_pixels=10**6)


def build(*arguments):
    out, err = io.StringIO(), io.StringIO()
    call_command("build_renditions", *arguments, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_build_renditions_makes_the_missing_ones_then_all_again(store, api, product, site):
    attach(store, api, product, jpeg())
    made = rendition_set(product)
    broken = Product.objects.create(site_configuration=site, name="Sel", cug="S-1")
    attach(store, api, broken, truncated(jpeg((300, 200))))
    # Images attached before renditions existed: no set, no objects.
    RenditionSet.objects.all().delete()
    for key in store.rendition_keys():
        store.delete(key)

    output, progress = build()

    assert "2 image(s): 1 ready, 1 failed (1 undecodable), 0 left pending." in output
    assert "2/2 image(s)" in progress
    assert rendition_set(product).variants == made.variants
    assert rendition_set(broken).is_failed
    assert set(store.rendition_keys()) == {media_key(v["name"]) for v in made.variants.values()}
    assert "0 image(s)" in build("--missing")[0], "nothing is missing any more"
    assert "2 image(s): 1 ready, 1 failed" in build("--all")[0]


def test_build_renditions_all_replaces_renditions_of_earlier_specs_and_deletes_them(
    store, api, product, monkeypatch
):
    """A change of sizes, then ``--all``: the set records the new
    renditions, and the old ones, which no page links any more, go."""
    attach(store, api, product, jpeg())
    earlier = {media_key(v["name"]) for v in rendition_set(product).variants.values()}
    monkeypatch.setattr(
        get_target("product"), "renditions", (RenditionSpec("thumb", 120, quality=70),)
    )

    assert "1 image(s): 1 ready" in build("--all")[0]

    (made,) = rendition_set(product).variants.values()
    assert set(store.rendition_keys()) == {media_key(made["name"])}
    assert not earlier & set(store.rendition_keys())
    assert not PendingDeletion.objects.exists()


@pytest.mark.parametrize("spelling", ["./{name}", "/{name}", "media/{name}", "{back}"])
def test_an_image_a_row_names_in_another_spelling_gets_renditions_that_exist(
    store, product, site, spelling
):
    """A row naming its photo as the storages read it in its own folder
    (edited by hand, or left so by the old app; the migration leaves it in
    place): the rendition's name followed the row's spelling, the storage
    saved it at the plain name, and ``store`` took that for another
    worker's copy and deleted it. The set read ready, its pages linking to
    nothing."""
    name = f"sites/{site.pk}/products/photo.jpg"
    store.put(media_key(name), jpeg())
    spelt = spelling.format(name=name, back=name.replace("/", "\\"))
    Product.objects.filter(pk=product.pk).update(image=spelt)

    assert "1 image(s): 1 ready" in build()[0]

    made = RenditionSet.objects.get(original=spelt)
    assert made.is_ready
    for variant in made.variants.values():
        assert default_storage.exists(variant["name"]), "what pages link to"
        assert variant["name"].startswith(f"sites/{site.pk}/products/renditions/")
        assert Image.open(io.BytesIO(store.read(media_key(variant["name"])))).format == "WEBP"

    # Cleared, then forgotten with the image: its renditions go with it.
    Product.objects.filter(pk=product.pk).update(image="")
    call_command("purge_uploads", stdout=io.StringIO())
    assert not store.rendition_keys()


@pytest.mark.parametrize("spelling", ["./{name}", "media/{name}"])
def test_build_renditions_all_repairs_the_sets_an_earlier_release_left_linking_nothing(
    store, product, site, spelling, caplog
):
    """What the release before made of such a row: a ready set whose
    variants name the renditions in the row's spelling, deleted once
    written. ``--all`` makes them at the plain names, and deletes none of
    them as the old names' leftovers."""
    name = f"sites/{site.pk}/products/photo.jpg"
    store.put(media_key(name), jpeg())
    spelt = spelling.format(name=name)
    Product.objects.filter(pk=product.pk).update(image=spelt)
    folder, file = spelt.rsplit("/", 1)
    RenditionSet.objects.create(
        original=spelt,
        kind="product",
        state=RenditionSet.State.READY,
        variants={
            spec.name: {"name": f"{folder}/{rendition_name(file, spec)}", "width": 1, "height": 1}
            for spec in DEFAULT_RENDITIONS
        },
    )

    assert "1 image(s): 1 ready" in build("--all")[0]

    made = RenditionSet.objects.get(original=spelt)
    assert {media_key(v["name"]) for v in made.variants.values()} == set(store.rendition_keys())
    assert len(store.rendition_keys()) == len(DEFAULT_RENDITIONS)
    assert not PendingDeletion.objects.exists()
    assert not [r for r in caplog.records if r.levelname == "ERROR"], "no key to refuse"


def test_renditions_named_after_the_originals_stem_are_replaced_by_build_renditions(
    store, api, product
):
    """Renditions an earlier release named after the original's stem keep
    their URLs (pages read the names the set recorded) until ``--all``
    makes them again under today's names and deletes them."""
    attach(store, api, product, jpeg())
    product.refresh_from_db()
    stem = product.image.name.rsplit("/", 1)[1].partition(".")[0]
    older = name_after_stem(store, product.image.name)
    assert older <= set(store.rendition_keys())

    build("--all")

    today = {media_key(v["name"]) for v in rendition_set(product).variants.values()}
    assert set(store.rendition_keys()) == today
    assert not [key for key in today if stem in key]


@pytest.mark.parametrize("encode", [jpeg, mpo], ids=["jpeg", "multi-picture jpeg"])
def test_a_large_jpeg_is_decoded_at_reduced_scale(encode):
    """The worker's memory for a 12 MP photo: a quarter of its pixels are
    decoded, enough for the 1600 px rendition. A phone's photo holding a
    second picture (Pillow's MPO) too: it was decoded in full."""
    image = renditions.decode(encode(size=(4000, 3000)), 1600, max_pixels=40_000_000)

    assert image.size == (2000, 1500)


def test_the_admin_lists_failed_renditions_read_only(store, api, product, admin_client):
    attach(store, api, product, truncated(jpeg((300, 200))))

    listing = admin_client.get("/admin/uploads/renditionset/?state=failed")

    assert listing.status_code == 200
    assert rendition_set(product).original in listing.content.decode()
    assert "/admin/uploads/renditionset/add/" not in listing.content.decode()


def test_a_16_bit_grey_png_keeps_its_tones():
    original = io.BytesIO()
    Image.new("I;16", (10, 10), 30000).save(original, "PNG")

    image = renditions.decode(original.getvalue(), 100, max_pixels=10**6)

    assert (image.mode, image.getpixel((0, 0))) == ("L", 30000 // 256)
