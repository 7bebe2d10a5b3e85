"""Phone photos made from real ones, for measuring bytes.

Flat colours compress to nothing and noise to nothing useful: neither says
what a photo costs on the wire. These start from the photographs that
Debian's lomiri-wallpapers-16.04 package ships (15 of them, 1365 to 5312 px
wide; CC BY-SA, see /usr/share/doc/lomiri-wallpapers-16.04/copyright),
installed by `make system-tools` as a data package with no dependencies.
Each is cropped to 4:3, scaled to the size a phone takes, given a sensor's
grain and an EXIF block, and saved as a phone saves it.
"""

import io
from pathlib import Path

from PIL import Image, ImageChops, ImageOps

PACKAGE = "lomiri-wallpapers-16.04"
FOLDER = Path("/usr/share/backgrounds")
# A 12 MP phone photo; 4:3, landscape.
PHONE_SIZE = (4000, 3000)
# The grain of a small sensor: standard deviation, in 8-bit levels.
GRAIN = 4
JPEG_QUALITY = 90  # what phones' cameras write, about
MAKE = 0x010F


def sources():
    """The package's photographs, in a fixed order."""
    found = sorted(path for path in FOLDER.glob("*_by_*.jpg"))
    if not found:
        raise FileNotFoundError(
            f"No photographs in {FOLDER}: install the Debian package {PACKAGE} "
            "(`make system-tools`)."
        )
    return found


def phone_photo(index, size=PHONE_SIZE):
    """JPEG bytes of photo number ``index``, ``size`` pixels: a different
    picture for each index (mirrored and cropped elsewhere once the
    sources run out)."""
    paths = sources()
    round_, number = divmod(index, len(paths))
    with Image.open(paths[number]) as source:
        source.draft("RGB", (size[0], size[1]))  # decode at a reduced scale when it can
        picture = source.convert("RGB")
    if round_ % 2:
        picture = ImageOps.mirror(picture)
    # Landscape 4:3 out of any source, portrait ones included; later rounds
    # frame another part of the scene.
    centring = (0.5, 0.5) if round_ == 0 else (0.2 + 0.15 * (round_ % 5), 0.35)
    picture = ImageOps.fit(picture, size, Image.Resampling.BICUBIC, centering=centring)
    picture = with_grain(picture, seed=index)
    exif = Image.Exif()
    exif[MAKE] = "PhoneMaker"
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=JPEG_QUALITY, exif=exif)
    return buffer.getvalue()


def with_grain(picture, seed):
    """Gaussian noise on each channel, as a phone's sensor leaves it. One
    field of noise, shifted by ``seed``-dependent offsets for each channel
    (Pillow's effect_noise takes a second for 12 MP, and has no seed)."""
    noise = Image.effect_noise(picture.size, GRAIN)
    channels = [ImageChops.offset(noise, 977 * (seed + k), 601 * (seed + 2 * k)) for k in range(3)]
    # effect_noise is centred on 128.
    return ImageChops.add(picture, Image.merge("RGB", channels), scale=1.0, offset=-128)
