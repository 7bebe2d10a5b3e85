"""Real image bytes for tests, made with Pillow."""

import io
import os
import struct
import zlib

from PIL import Image


def image_bytes(fmt="JPEG", size=(64, 48), color=(200, 30, 30), **options):
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt, **options)
    return buffer.getvalue()


def jpeg(size=(64, 48), color=(200, 30, 30)):
    return image_bytes("JPEG", size, color)


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


def noisy(fmt="PNG", size=(300, 300)):
    """An image that does not compress: its bytes are many times its header."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(buffer, fmt)
    return buffer.getvalue()
