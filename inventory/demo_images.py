"""
Pictures for the demo data, drawn with Pillow when ``seed_demo`` runs.

A product gets a card in a colour of its own, with a simple drawing of what
it is (a sack, a bottle, ...), its name and its CUG; a site gets a round
logo with its initial under a shop awning. Both are small on purpose
(staff pay for their mobile data): a JPEG card of 800 × 800 pixels is a few
tens of kilobytes, a logo a few kilobytes of palette PNG.

The same arguments give the same bytes on a given machine: colours come from
a hash of the product or site name, never from chance. Text uses a common
TrueType font when the system has one (it draws accents); Pillow's own font
otherwise, which has none, so accented letters are then written without.
"""

import functools
import hashlib
import io
import textwrap
import unicodedata
from colorsys import hsv_to_rgb

from PIL import Image, ImageDraw, ImageFont

PRODUCT_SIDE = 800
PRODUCT_QUALITY = 80
LOGO_SIDE = 256
# Shapes are drawn this many times larger, then scaled down: smooth edges.
SUPERSAMPLE = 2

# Bold sans-serif fonts with accents, by file name: Pillow looks for them in
# the system's font folders (Linux, macOS, Windows).
FONT_FILES = ["DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf", "Arial Bold.ttf", "arialbd.ttf"]

INK = (38, 38, 38)
WHITE = (255, 255, 255)


def product_image(name, cug, shape):
    """A JPEG card for a product: ``shape`` is one of ``SHAPES``."""
    side = PRODUCT_SIDE * SUPERSAMPLE
    hue = hue_of(name)
    image = Image.new("RGB", (side, side), colour(hue, 0.16, 0.98))
    draw = ImageDraw.Draw(image)
    unit = side / 100
    SHAPES[shape](draw, unit, fill=colour(hue, 0.55, 0.82), outline=colour(hue, 0.7, 0.45))

    font, text = fitted_text(name, size=int(7 * unit), width=int(88 * unit), lines=2)
    draw.multiline_text(
        (side / 2, 74 * unit), text, font=font, fill=INK, anchor="mm", align="center", spacing=8
    )
    cug_font, cug = fitted_text(cug, size=int(4.5 * unit), width=int(60 * unit), lines=1)
    left, top, right, bottom = draw.textbbox((side / 2, 90 * unit), cug, font=cug_font, anchor="mm")
    pad = 2 * unit
    draw.rounded_rectangle(
        (left - 2 * pad, top - pad, right + 2 * pad, bottom + pad),
        radius=(bottom - top) / 2 + pad,
        fill=colour(hue, 0.7, 0.45),
    )
    draw.text((side / 2, 90 * unit), cug, font=cug_font, fill=WHITE, anchor="mm")

    image = image.resize((PRODUCT_SIDE, PRODUCT_SIDE), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=PRODUCT_QUALITY, optimize=True, progressive=True)
    return buffer.getvalue()


def site_logo(name):
    """A PNG logo for a site: its initial in a disc, under an awning."""
    side = LOGO_SIDE * SUPERSAMPLE * 2
    hue = hue_of(name)
    image = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    unit = side / 100
    dark = colour(hue, 0.75, 0.5)
    draw.ellipse((2 * unit, 2 * unit, 98 * unit, 98 * unit), fill=dark)
    # The awning: alternating stripes, scalloped below.
    stripes, left, right, top, bottom = 7, 15 * unit, 85 * unit, 16 * unit, 34 * unit
    width = (right - left) / stripes
    for index in range(stripes):
        fill = WHITE if index % 2 else colour(hue, 0.45, 1.0)
        x = left + index * width
        draw.rectangle((x, top, x + width, bottom), fill=fill)
        draw.pieslice((x, bottom - width / 2, x + width, bottom + width / 2), 0, 180, fill=fill)
    font = load_font(int(42 * unit))
    initial = fold(name.split()[-1][:1].upper(), font)
    draw.text((50 * unit, 66 * unit), initial, font=font, fill=WHITE, anchor="mm")

    image = image.resize((LOGO_SIDE, LOGO_SIDE), Image.Resampling.LANCZOS)
    image = image.quantize(colors=64, method=Image.Quantize.FASTOCTREE)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


# --- Shapes, on a canvas of 100 × 100 units, in the card's upper part ------------


def sack(draw, u, fill, outline):
    draw.polygon(
        [(40 * u, 14 * u), (60 * u, 14 * u), (56 * u, 26 * u), (44 * u, 26 * u)],
        fill=fill,
        outline=outline,
        width=int(u),
    )
    draw.rounded_rectangle(
        (24 * u, 24 * u, 76 * u, 62 * u), radius=12 * u, fill=fill, outline=outline, width=int(u)
    )
    draw.rounded_rectangle((40 * u, 22 * u, 60 * u, 26 * u), radius=u, fill=outline)
    draw.rounded_rectangle((34 * u, 36 * u, 66 * u, 50 * u), radius=2 * u, fill=WHITE)


def bottle(draw, u, fill, outline):
    draw.rounded_rectangle((44 * u, 8 * u, 56 * u, 14 * u), radius=u, fill=outline)
    draw.rectangle((45 * u, 14 * u, 55 * u, 24 * u), fill=fill, outline=outline, width=int(u))
    draw.rounded_rectangle(
        (34 * u, 22 * u, 66 * u, 60 * u), radius=8 * u, fill=fill, outline=outline, width=int(u)
    )
    draw.rounded_rectangle((38 * u, 34 * u, 62 * u, 48 * u), radius=2 * u, fill=WHITE)


def box(draw, u, fill, outline):
    front = (26 * u, 28 * u, 64 * u, 60 * u)
    top = [(26 * u, 28 * u), (38 * u, 16 * u), (76 * u, 16 * u), (64 * u, 28 * u)]
    side = [(64 * u, 28 * u), (76 * u, 16 * u), (76 * u, 48 * u), (64 * u, 60 * u)]
    draw.polygon(side, fill=outline, outline=outline, width=int(u))
    draw.polygon(top, fill=WHITE, outline=outline, width=int(u))
    draw.rectangle(front, fill=fill, outline=outline, width=int(u))
    draw.rounded_rectangle((32 * u, 36 * u, 58 * u, 50 * u), radius=2 * u, fill=WHITE)


def bowl(draw, u, fill, outline):
    draw.ellipse((30 * u, 18 * u, 70 * u, 42 * u), fill=WHITE, outline=outline, width=int(u))
    draw.chord((20 * u, 10 * u, 80 * u, 60 * u), 0, 180, fill=fill, outline=outline, width=int(u))
    draw.rounded_rectangle((40 * u, 58 * u, 60 * u, 62 * u), radius=u, fill=outline)


def tin(draw, u, fill, outline):
    draw.rectangle((32 * u, 20 * u, 68 * u, 56 * u), fill=fill, outline=outline, width=int(u))
    draw.ellipse((32 * u, 50 * u, 68 * u, 62 * u), fill=fill, outline=outline, width=int(u))
    draw.rectangle((33 * u, 50 * u, 67 * u, 56 * u), fill=fill)
    draw.ellipse((32 * u, 14 * u, 68 * u, 26 * u), fill=outline)
    draw.rounded_rectangle((36 * u, 32 * u, 64 * u, 46 * u), radius=2 * u, fill=WHITE)


SHAPES = {"sack": sack, "bottle": bottle, "box": box, "bowl": bowl, "tin": tin}


# --- Colours and text ---------------------------------------------------------------


def hue_of(text):
    """A hue in [0, 1) that depends on ``text`` alone."""
    return hashlib.sha256(text.encode()).digest()[0] / 256


def colour(hue, saturation, value):
    return tuple(round(channel * 255) for channel in hsv_to_rgb(hue, saturation, value))


@functools.lru_cache(maxsize=32)
def load_font(size):
    """The first of ``FONT_FILES`` found, else Pillow's own (Aileron, with
    no accented letters). Cached: a font not given by path is searched for
    through the font folders."""
    for filename in FONT_FILES:
        try:
            return ImageFont.truetype(filename, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


def fold(text, font):
    """``text`` with the accents the font cannot draw taken off, rather than
    drawn as empty boxes: Pillow's own font has none."""
    if font.getname()[0] != "Aileron":
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def fitted_text(text, *, size, width, lines):
    """A font and ``text`` wrapped in at most ``lines`` lines of at most
    ``width`` pixels, the font shrunk until it fits."""
    while True:
        font = load_font(size)
        folded = fold(text, font)
        average = font.getlength("n")
        wrapped = textwrap.wrap(folded, max(1, int(width / average))) or [""]
        if (len(wrapped) <= lines and max(map(font.getlength, wrapped)) <= width) or size <= 12:
            return font, "\n".join(wrapped[:lines])
        size = int(size * 0.9)
