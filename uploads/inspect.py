"""
Image inspection at confirm, from the first bytes of an object.

Pillow reads only the header here: format, width and height come out before
any pixel is decoded, so a decompression bomb is refused from its header.
Only JPEG, PNG and WebP are ever opened (``formats=``), whatever the file
claims to be.

Pillow's WebP plugin hands the whole file to libwebp and cannot open a
truncated one, so a WebP's dimensions are read from its RIFF header here, and
Pillow opens it only when all of it was read.

A JPEG's frame header may come after any amount of metadata (EXIF with maker
notes and a preview, extended XMP, ICC profiles: phone photos put hundreds of
KB there). ``jpeg_header`` follows the segment lengths with a few small
ranged reads, skipping the metadata unread, and hands Pillow the segments it
needs up to the start of scan. A PNG's chunks before its image data may
hold as much (an editor's XMP): ``png_header`` skips them alike.
"""

import io
import re
import struct
import warnings
from dataclasses import dataclass

from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from uploads.errors import ImageTooLarge, InvalidImage, TypeMismatch, one_decimal
from uploads.targets import CONTENT_TYPES

MAGIC_NUMBERS = {
    "JPEG": lambda head: head[:3] == b"\xff\xd8\xff",
    "PNG": lambda head: head[:8] == b"\x89PNG\r\n\x1a\n",
    "WEBP": lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP",
}


@dataclass(frozen=True)
class ImageInfo:
    format: str  # Pillow's name: JPEG, PNG, WEBP
    width: int
    height: int


def sniff_format(head):
    for name, matches in MAGIC_NUMBERS.items():
        if matches(head):
            return name
    return None


# The size of each ranged read of a header (JPEG or PNG) beyond the first
# INSPECT_BYTES, and how many such reads one inspection may make.
HEADER_READ_SIZE = 8 * 1024
HEADER_EXTRA_READS = 24


class RangedReader:
    """Bytes of a file at any offset, from its first bytes and then from
    ranged reads of ``HEADER_READ_SIZE`` bytes, at most
    ``HEADER_EXTRA_READS`` of them."""

    def __init__(self, head, read, size):
        self.read = read  # read(start, length) -> bytes
        self.size = size
        self.window_start = 0
        self.window = head
        self.reads = 0

    def get(self, offset, length):
        pieces = []
        while length > 0:
            start = offset - self.window_start
            if not 0 <= start < len(self.window):
                self.fetch(offset)
                start = 0
            piece = self.window[start : start + length]
            pieces.append(piece)
            offset += len(piece)
            length -= len(piece)
        return b"".join(pieces)

    def fetch(self, offset):
        if offset >= self.size:
            raise InvalidImage()  # the file ends inside its header
        if self.reads >= HEADER_EXTRA_READS:
            raise InvalidImage(
                _(
                    "The image carries too much metadata to be checked. "
                    "Save it again without it, then retry."
                )
            )
        self.reads += 1
        self.window_start = offset
        self.window = self.read(offset, min(HEADER_READ_SIZE, self.size - offset))
        if not self.window:
            raise InvalidImage()


# JPEG markers: start of image, start of scan, standalone markers (no
# length), and the metadata segments skipped unread (APP0-APP15, COM).
SOI, SOS, EOI = 0xD8, 0xDA, 0xD9
STANDALONE = {0x01, *range(0xD0, 0xD8)}
METADATA = {*range(0xE0, 0xF0), 0xFE}


def jpeg_header(head, read, size):
    """A JPEG's start-of-image, then every segment but the metadata, up to
    and including the start-of-scan header: what Pillow reads to tell the
    format and dimensions.

    ``head`` is the file's first bytes, ``size`` its length, and
    ``read(start, length)`` a ranged read of it. Metadata segments are
    skipped by their lengths without being read. The worst case reads
    ``len(head)`` bytes, then ``HEADER_EXTRA_READS`` ranged reads of
    ``HEADER_READ_SIZE`` bytes: with the default ``INSPECT_BYTES`` (48 KiB),
    48 KiB + 24 × 8 KiB = 240 KiB in 25 reads, whatever the file holds.
    """
    reader = RangedReader(head, read, size)
    kept = [b"\xff\xd8"]
    offset = 2
    while True:
        prefix, marker = reader.get(offset, 2)
        if prefix != 0xFF or marker in (0x00, 0xFF):  # junk, fill bytes: skipped as by Pillow
            offset += 1
            continue
        if marker in STANDALONE:
            offset += 2
            continue
        if marker in (SOI, EOI):
            raise InvalidImage()
        length = struct.unpack(">H", reader.get(offset + 2, 2))[0]
        if length < 2:
            raise InvalidImage()
        if marker not in METADATA:
            kept.append(reader.get(offset, 2 + length))
        if marker == SOS:
            return b"".join(kept)
        offset += 2 + length


# Scans a JPEG may hold. Each is a pass of the decoder over every block of
# the image however few bytes it takes (one end-of-band run codes
# thousands of blocks): 1,000 scans of 65 bytes held the worker 19 s on a
# 40 MP image, and a 10 MB file of them would hold it most of an hour
# (libjpeg-turbo's "LJT-01-003", which it leaves to applications).
# Encoders write about ten (libjpeg's progression: 10 in colour, 6 in grey).
MAX_SCANS = 100
# Markers walked to count them: a scan comes with a few tables, a header
# with a few dozen segments; millions of empty ones would take seconds.
MAX_MARKERS = 1000
# The marker that ends a scan's entropy-coded data: 0xFF and a code, which
# is neither a stuffed 0x00, a restart (0xD0-0xD7) nor another 0xFF (fill).
NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def too_many_scans(data):
    """Whether the JPEG ``data`` holds more than ``MAX_SCANS`` scans (or
    ``MAX_MARKERS`` markers) before its end of image. They are found as a
    decoder finds them: each segment skipped by its length, a scan's data
    up to the next marker; a marker's bytes in metadata (an EXIF thumbnail)
    or after the image (a second picture, an HTML page) count for nothing."""
    scans, offset = 0, 2
    for _marker in range(MAX_MARKERS):
        match = NEXT_MARKER.search(data, offset)
        if match is None:
            return False
        start, marker = match.start(), data[match.start() + 1]
        if marker == EOI or start + 4 > len(data):
            return False
        if marker in STANDALONE or marker == SOI:
            offset = match.end()
            continue
        scans += marker == SOS
        if scans > MAX_SCANS:
            return True
        offset = start + 2 + struct.unpack_from(">H", data, start + 2)[0]
    return True


# PNG ancillary chunks (a lowercase first letter: text, XMP, EXIF...) are
# skipped unread, but for those Pillow inflates on opening (ICC profiles,
# compressed text), whose bombs it refuses: these are read.
PNG_INFLATED = {b"iCCP", b"zTXt"}
# An iTXt's keyword (1 to 79 bytes), its NUL and its compression flag.
ITXT_FLAG_WITHIN = 81


def png_header(head, read, size):
    """A PNG's signature, then every chunk Pillow reads before the image
    data but the metadata, up to the first IDAT's length and type: what
    Pillow reads to tell the format and dimensions.

    As ``jpeg_header``, with the same arguments and the same bounded reads:
    XMP (an editor's history may make it hundreds of KB), EXIF and text are
    skipped by their lengths without being read; a chunk that Pillow
    inflates when it opens the file is kept, so that it refuses a
    decompression bomb there as it does in the first bytes.
    """
    reader = RangedReader(head, read, size)
    kept = [head[:8]]
    offset = 8
    while True:
        chunk = reader.get(offset, 8)
        length, kind = struct.unpack(">I", chunk[:4])[0], chunk[4:]
        if kind == b"IDAT":
            return b"".join([*kept, chunk])
        skipped = (
            kind[:1].islower()
            and kind not in PNG_INFLATED
            and not compressed_itxt(reader, offset, kind, length)
        )
        if not skipped:
            kept.append(reader.get(offset, 12 + length))
        offset += 12 + length


def compressed_itxt(reader, offset, kind, length):
    """Whether the chunk at ``offset`` is an iTXt whose text is compressed."""
    if kind != b"iTXt":
        return False
    start = reader.get(offset + 8, min(length, ITXT_FLAG_WITHIN))
    keyword_end = start.find(b"\0")
    return keyword_end < 0 or start[keyword_end + 1 : keyword_end + 2] != b"\0"


def webp_size(head):
    """(width, height) from a WebP's first chunk, or ``None``."""
    chunk = head[12:16]
    try:
        if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
            width, height = struct.unpack("<HH", head[26:30])
            return width & 0x3FFF, height & 0x3FFF
        if chunk == b"VP8L" and head[20:21] == b"\x2f":
            bits = struct.unpack("<I", head[21:25])[0]
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if chunk == b"VP8X":
            width = int.from_bytes(head[24:27], "little") + 1
            height = int.from_bytes(head[27:30], "little") + 1
            return width, height
    except struct.error:
        pass
    return None


def inspect_image(data, content_type, *, size, max_pixels, max_side, full_decode=False):
    """``ImageInfo`` of an image, or an ``errors.Rejected`` subclass.

    ``data`` is the start of the file, of ``size`` bytes in all (or all of
    it with ``full_decode``).
    """
    expected = CONTENT_TYPES[content_type][0]
    sniffed = sniff_format(data)
    if sniffed is None:
        raise InvalidImage()
    if sniffed != expected:
        raise TypeMismatch(
            _("The file is a %(actual)s image but was declared as %(declared)s.")
            % {"actual": sniffed, "declared": content_type}
        )
    complete = len(data) >= size
    if sniffed == "WEBP":
        dimensions = webp_size(data)
        if dimensions is None:
            raise InvalidImage()
        check_dimensions(*dimensions, max_pixels, max_side)
        if not complete:
            return ImageInfo(format=sniffed, width=dimensions[0], height=dimensions[1])
    try:
        with warnings.catch_warnings():
            # Our own limits apply below; Pillow's bomb warning is noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[sniffed]) as image:
                width, height = image.size
                check_dimensions(width, height, max_pixels, max_side)
                if full_decode:
                    if sniffed == "JPEG" and too_many_scans(data):
                        raise ImageTooLarge(
                            _(
                                "The image is saved in more than %(max)d passes (progressive "
                                "scans), which take too long to decode. Save it again, then retry."
                            )
                            % {"max": MAX_SCANS}
                        )
                    image.load()
    except Image.DecompressionBombError:
        raise ImageTooLarge() from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise InvalidImage() from None
    return ImageInfo(format=sniffed, width=width, height=height)


def check_dimensions(width, height, max_pixels, max_side):
    if width < 1 or height < 1:
        raise InvalidImage()
    if width > max_side or height > max_side:
        raise ImageTooLarge(
            _("The image is %(width)d×%(height)d pixels; each side may be at most %(max)d.")
            % {"width": width, "height": height, "max": max_side}
        )
    if width * height > max_pixels:
        raise ImageTooLarge(
            _("The image has %(pixels)s megapixels; the limit is %(max)s.")
            % {"pixels": one_decimal(width * height / 1e6), "max": one_decimal(max_pixels / 1e6)}
        )
