"""Header inspection, without any store."""

import pytest
from django.utils import translation

from tests.support.images import (
    HTML_PAYLOAD,
    image_bytes,
    jpeg,
    mpo,
    noisy,
    png,
    png_header_only,
    progressive_jpeg,
    webp,
)
from uploads.errors import ImageTooLarge, InvalidImage, TypeMismatch
from uploads.inspect import MAX_MARKERS, MAX_SCANS, inspect_image, too_many_scans, webp_size

LIMITS = {"max_pixels": 40_000_000, "max_side": 12_000}


def inspect(data, content_type, **options):
    return inspect_image(data, content_type, size=len(data), **{**LIMITS, **options})


@pytest.mark.parametrize(
    "data, content_type, fmt",
    [
        (jpeg((30, 20)), "image/jpeg", "JPEG"),
        (png((30, 20)), "image/png", "PNG"),
        (webp((30, 20)), "image/webp", "WEBP"),
    ],
)
def test_reads_format_and_dimensions(data, content_type, fmt):
    info = inspect(data, content_type)
    assert (info.format, info.width, info.height) == (fmt, 30, 20)


@pytest.mark.parametrize(
    "options",
    [{}, {"lossless": True}, {"exif": b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x00\x00"}],
)
def test_webp_dimensions_come_from_the_riff_header(options):
    data = image_bytes("WEBP", (1234, 567), **options)
    assert webp_size(data) == (1234, 567)


def test_large_files_are_judged_from_their_first_bytes():
    for fmt, content_type in (("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")):
        data = noisy(fmt, (900, 700))
        assert len(data) > 65536
        info = inspect_image(data[:65536], content_type, size=len(data), **LIMITS)
        assert (info.width, info.height) == (900, 700)


def test_bomb_is_refused_from_the_header():
    with pytest.raises(ImageTooLarge):
        inspect(png_header_only(60_000, 60_000), "image/png")


def test_pixel_limit_and_side_limit():
    with pytest.raises(ImageTooLarge):
        inspect(png((100, 100)), "image/png", max_pixels=9_999)
    with pytest.raises(ImageTooLarge):
        inspect(png((100, 10)), "image/png", max_side=99)
    assert inspect(png((100, 100)), "image/png", max_pixels=10_000, max_side=100).width == 100


def test_the_pixel_limit_is_said_in_the_users_language():
    with translation.override("fr"), pytest.raises(ImageTooLarge) as refused:
        inspect(png_header_only(7_000, 7_000), "image/png")
    assert refused.value.detail == "L'image a 49,0 mégapixels ; la limite est de 40,0."


@pytest.mark.parametrize(
    "data",
    [b"", b"GIF89a" + b"\x00" * 50, b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"%PDF-1.7"],
)
def test_other_files_are_invalid(data):
    with pytest.raises(InvalidImage):
        inspect(data, "image/png")


def test_declared_type_must_match():
    with pytest.raises(TypeMismatch):
        inspect(jpeg(), "image/png")


def test_full_decode_catches_a_damaged_body():
    data = jpeg((400, 300))
    damaged = data[:600] + b"\x00" * (len(data) - 600)
    # The header is intact, so a header check passes ...
    assert inspect(damaged, "image/jpeg").width == 400
    # ... and a full decode does not.
    with pytest.raises(InvalidImage):
        inspect(damaged, "image/jpeg", full_decode=True)


def test_the_scans_of_a_jpeg_are_counted_up_to_its_end_of_image():
    assert not too_many_scans(progressive_jpeg(extra_scans=MAX_SCANS - 10))  # 10 of its own
    assert too_many_scans(progressive_jpeg(extra_scans=MAX_SCANS - 9))
    # Not in a second picture, nor after the end, nor in metadata.
    assert not too_many_scans(mpo())
    assert not too_many_scans(jpeg() + b"\xff\xda\x00\x08" * 200 + HTML_PAYLOAD)
    data = image_bytes("JPEG", comment=b"\xff\xda\x00\x08" * 200)
    assert data.count(b"\xff\xda") == 201 and not too_many_scans(data)


def test_a_jpeg_of_too_many_markers_to_walk_has_too_many_scans():
    """Millions of empty segments after the image's scan would take the
    walk seconds, for no scan: it stops at ``MAX_MARKERS``."""
    image = jpeg()
    empty_tables = b"\xff\xc4\x00\x02" * MAX_MARKERS

    assert too_many_scans(image[:-2] + empty_tables + image[-2:])


def test_full_decode_refuses_a_jpeg_of_too_many_scans():
    """Each scan is a pass over the whole image for a few bytes: a 10 MB
    file of them would hold a decoder most of an hour."""
    accepted = progressive_jpeg(extra_scans=MAX_SCANS - 10)
    assert inspect(accepted, "image/jpeg", full_decode=True).width == 64
    refused = progressive_jpeg(extra_scans=MAX_SCANS - 9)
    assert inspect(refused, "image/jpeg").width == 64, "the header alone says nothing of scans"

    with translation.override("fr"), pytest.raises(ImageTooLarge) as error:
        inspect(refused, "image/jpeg", full_decode=True)

    assert error.value.detail.startswith("L'image est enregistrée en plus de 100 passes")
