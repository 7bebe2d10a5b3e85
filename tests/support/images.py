"""Real image bytes for tests, made with Pillow."""

import io
import math
import os
import random
import struct
import zlib

from PIL import Image


def image_bytes(fmt="JPEG", size=(64, 48), color=(200, 30, 30), **options):
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt, **options)
    return buffer.getvalue()


def jpeg(size=(64, 48), color=(200, 30, 30)):
    return image_bytes("JPEG", size, color)


def mpo(size=(64, 48), color=(200, 30, 30)):
    """A JPEG followed by a second picture (Multi-Picture Format), as many
    phones write a photo with its preview or depth map."""
    buffer = io.BytesIO()
    second = Image.new("RGB", (32, 24), (0, 0, 255))
    Image.new("RGB", size, color).save(buffer, "MPO", save_all=True, append_images=[second])
    return buffer.getvalue()


def progressive_jpeg(size=(64, 48), extra_scans=0):
    """A progressive JPEG (10 scans), its last scan repeated ``extra_scans``
    times: each is another pass of the decoder over the whole image, for a
    few bytes."""
    data = image_bytes("JPEG", size, progressive=True)
    last_scan = data[data.rindex(b"\xff\xda") : -2]  # up to the end of image
    return data[:-2] + last_scan * extra_scans + data[-2:]


def png(size=(64, 48), color=(30, 200, 30)):
    return image_bytes("PNG", size, color)


def webp(size=(64, 48), color=(30, 30, 200)):
    return image_bytes("WEBP", size, color)


def png_header_only(width, height):
    """A PNG that declares ``width`` × ``height`` but holds a few bytes: a
    decompression bomb is refused from this header alone."""

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_text_bomb(inflated=60_000_000):
    """A small PNG whose zTXt chunk inflates to ``inflated`` bytes: a
    decompression bomb in the metadata, before any pixel."""
    image = png()
    text = png_chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"\0" * inflated, 9))
    end_of_header = 8 + 25  # signature, IHDR
    return image[:end_of_header] + text + image[end_of_header:]


def jpeg_declaring(width, height):
    """A small JPEG whose frame header claims ``width`` × ``height``."""
    data = bytearray(jpeg())
    frame = data.index(b"\xff\xc0")  # SOF0: marker, length, precision, height, width
    struct.pack_into(">HH", data, frame + 5, height, width)
    return bytes(data)


def webp_declaring(width, height):
    """An extended (VP8X) WebP header claiming ``width`` × ``height``."""
    body = b"VP8X" + struct.pack("<I", 10) + b"\0" * 4
    body += (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def jpeg_of_size(megabytes, seed=12):
    """A real JPEG photo of at least ``megabytes`` MB, 4:3 as a phone's:
    noise, which JPEG cannot shrink."""
    noise = random.Random(seed)
    side = 1000
    while True:
        size = (side * 4 // 3, side)
        buffer = io.BytesIO()
        pixels = noise.randbytes(size[0] * size[1] * 3)
        Image.frombytes("RGB", size, pixels).save(buffer, "JPEG", quality=95)
        if buffer.tell() >= megabytes * 1_000_000:
            return buffer.getvalue()
        side = math.ceil(side * math.sqrt(megabytes * 1_000_000 / buffer.tell()) * 1.02)


def noisy(fmt="PNG", size=(300, 300)):
    """An image that does not compress: its bytes are many times its header."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(buffer, fmt)
    return buffer.getvalue()


GPS_PARIS = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}


def halves(size=(60, 40), left=(255, 0, 0), right=(0, 0, 255), mode="RGB"):
    """An image whose left half is ``left`` and right half ``right``: where
    each colour ends up tells how it was turned."""
    image = Image.new(mode, size, left)
    image.paste(right, (size[0] // 2, 0, size[0], size[1]))
    return image


def photo_with_exif(size=(60, 40), orientation=1, gps=GPS_PARIS):
    """A phone photo's JPEG: EXIF with an orientation, the camera's make,
    GPS coordinates, and a comment holding a script."""
    from PIL import ExifTags

    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "Phone"
    if gps:
        exif[ExifTags.IFD.GPSInfo] = gps
    buffer = io.BytesIO()
    halves(size).save(buffer, "JPEG", exif=exif, comment=b"<script>alert(1)</script>")
    return buffer.getvalue()


HTML_PAYLOAD = b"<html><body><script>alert(document.cookie)</script></body></html>"


def jpeg_then_html(size=(64, 48)):
    """A valid JPEG followed, after its end marker, by an HTML page."""
    return jpeg(size) + HTML_PAYLOAD


def truncated(data, keep=0.6):
    """The first ``keep`` of ``data``: a file cut short in transfer."""
    return data[: int(len(data) * keep)]


def black_ink_profile():
    """An ICC profile (v2, CMYK to Lab) of a press that prints its black ink
    alone: cyan, magenta and yellow leave the paper white. How a CMYK
    image's colours come out tells whether its profile was applied."""
    # A lut8 (ICC.1:2001, 6.5.7): 4 inputs, 3 outputs, identity matrix and
    # tables, a grid of 2 points a side, the last input (K) varying
    # fastest: white (L* 100, a* b* 0) without black, black with it.
    grid = (b"\xff\x80\x80" + b"\x00\x80\x80") * 8
    identity = struct.pack(">9i", 1 << 16, 0, 0, 0, 1 << 16, 0, 0, 0, 1 << 16)
    lut = b"mft1" + bytes(4) + bytes([4, 3, 2, 0]) + identity
    lut += bytes(range(256)) * 4 + grid + bytes(range(256)) * 3
    d50 = struct.pack(">3i", 63190, 65536, 54061)
    tags = [(b"A2B0", lut), (b"wtpt", b"XYZ " + bytes(4) + d50)]
    table, body = struct.pack(">I", len(tags)), b""
    for signature, data in tags:
        table += struct.pack(">4sII", signature, 128 + 4 + 12 * len(tags) + len(body), len(data))
        body += data + bytes(-len(data) % 4)
    size = 128 + len(table) + len(body)
    header = struct.pack(">I4sI4s4s4s", size, b"", 0x02100000, b"prtr", b"CMYK", b"Lab ")
    header += bytes(12) + b"acsp" + bytes(28) + d50 + bytes(48)
    return header + table + body


def logo_with_alpha(size=(80, 40)):
    """A PNG logo: an opaque red left half on a transparent background."""
    image = halves(size, left=(255, 0, 0, 255), right=(0, 0, 0, 0), mode="RGBA")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()
