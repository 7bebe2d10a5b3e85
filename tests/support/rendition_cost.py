"""
What the rendition worker costs per image, in time and peak memory, for
tests/benchmarks/bench_renditions.py and its smoke test.

The originals are one real photograph (``tests.support.photos``) at the
size asked, saved as a phone saves a JPEG; as a JPEG holding a second,
smaller picture after it (Multi-Picture Format, which Pillow opens as
MPO: a preview or a depth map, as many phones write); and as PNG and WebP
(quality 90, Pillow's defaults otherwise), in the media folder of a
development environment (filesystem storage, one SQLite file).

Each measurement is a process of its own (``python -m
tests.support.rendition_cost NAME``), so that no peak carries over from
one image to the next. It sets up Django and makes the renditions of a tiny
image of the same format through the same code (imports, codecs, the
database connection: the worker's steady state), then takes its baseline:
its resident memory (VmRSS) and the time to read the original's bytes from
the storage. Then it resets the original's ``RenditionSet`` to pending and
runs ``uploads.renditions.make``, the task's body, timed; its peak is the
kernel's high-water mark (VmHWM) afterwards. The parent checks that every
rendition was made and decodes.
"""

import io
import json
import statistics
import sys
import time
from pathlib import Path

from PIL import Image

from tests.support.bench_output import write_report
from tests.support.photos import phone_photo
from tests.support.processes import dev_environment, python

MIB = 1024 * 1024
# A 12 MP phone photo, and the largest image confirm accepts by default
# (UPLOADS["MAX_PIXELS"], 40 MP) at the same 4:3.
PHONE = (4000, 3000)
LARGEST = (7302, 5476)
FORMATS = {"JPEG": "jpg", "MPO": "mpo.jpg", "PNG": "png", "WEBP": "webp"}
KIND = "product"


def originals(size):
    """``{format: bytes}`` of one photograph at ``size``: the JPEG as the
    phone wrote it; the MPO, PNG and WebP made from its pixels, the MPO
    with a picture of a quarter of its side after it."""
    jpeg = phone_photo(0, size)
    pixels = Image.open(io.BytesIO(jpeg))
    made = {"JPEG": jpeg}
    preview = pixels.resize((size[0] // 4, size[1] // 4))
    for format, options in (
        ("MPO", {"quality": 90, "save_all": True, "append_images": [preview]}),
        ("PNG", {}),
        ("WEBP", {"quality": 90}),
    ):
        buffer = io.BytesIO()
        pixels.save(buffer, format, **options)
        made[format] = buffer.getvalue()
    return made


def status():
    """This process's VmRSS and VmHWM, in bytes."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return {key: int(fields[key].split()[0]) * 1024 for key in ("VmRSS", "VmHWM")}


def measure(name):
    """Run in the measuring process: the baseline and ``make``'s figures
    for the original ``name``."""
    import django

    django.setup()
    from django.core.files.storage import default_storage

    from uploads import renditions

    with Image.open(default_storage.path(name)) as original:
        format = original.format
    tiny = io.BytesIO()
    Image.new("RGB", (64, 48), "olive").save(tiny, format)
    renditions.render(tiny.getvalue(), renditions.specs_of(KIND), max_pixels=64 * 48)
    renditions.reset(name, KIND)

    before = status()
    started = time.perf_counter()
    size = len(renditions.read_original(name))
    read = time.perf_counter() - started

    started = time.perf_counter()
    state = renditions.make(name)
    made = time.perf_counter() - started
    after = status()
    rendition_set = renditions.get_rendition_set(name)
    return {
        "state": state,
        "variants": rendition_set.variants,
        "original_bytes": size,
        "read_ms": read * 1000,
        "make_ms": made * 1000,
        "rss_before": before["VmRSS"],
        "hwm_before": before["VmHWM"],
        "peak": after["VmHWM"],
    }


def check_renditions(media, variants, kind=KIND):
    """Every rendition of the kind's specs exists, is a WebP of its recorded
    size and decodes to its last pixel."""
    from uploads.targets import get_target

    specs = {spec.name: spec for spec in get_target(kind).get_renditions()}
    assert set(variants) == set(specs), variants
    for name, variant in variants.items():
        with Image.open(media / variant["name"]) as image:
            image.load()
            assert (image.format, image.size) == ("WEBP", (variant["width"], variant["height"]))
            assert max(image.size) <= specs[name].max_side


def spread(values, digits=1):
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


def rendition_cost(workdir, *, sizes=(PHONE,), repetitions=5, largest_repetitions=1):
    """Figures for each format at each of ``sizes`` (``repetitions``
    processes each, formats taken in turn), and at ``LARGEST`` if it is
    among them (``largest_repetitions``)."""
    env = dev_environment(workdir)
    env["DJANGO_SETTINGS_MODULE"] = "project.settings"
    media = Path(env["DJANGO_MEDIA_ROOT"])
    rows = []
    for size in sizes:
        made = originals(size)
        names = {}
        for format, extension in FORMATS.items():
            names[format] = f"sites/1/products/photo-{size[0]}x{size[1]}.{extension}"
            (media / names[format]).parent.mkdir(parents=True, exist_ok=True)
            (media / names[format]).write_bytes(made[format])
        del made
        runs = {format: [] for format in FORMATS}
        count = largest_repetitions if size == LARGEST else repetitions
        for _ in range(count):
            for format in FORMATS:
                output = python(env, "-m", "tests.support.rendition_cost", names[format])
                run = json.loads(output.splitlines()[-1])
                assert run["state"] == "ready", run
                check_renditions(media, run["variants"])
                runs[format].append(run)
        rows.extend(row_of(format, size, runs[format]) for format in FORMATS)
    return {"rows": rows, "repetitions": repetitions}


def row_of(format, size, runs):
    megapixels = size[0] * size[1] / 1e6
    deltas = [(run["peak"] - run["rss_before"]) / MIB for run in runs]
    return {
        "format": format,
        "width": size[0],
        "height": size[1],
        "megapixels": round(megapixels, 2),
        "original_bytes": runs[0]["original_bytes"],
        "runs": len(runs),
        "make_ms": spread([run["make_ms"] for run in runs]),
        "read_ms": spread([run["read_ms"] for run in runs], 2),
        "rss_before_mib": spread([run["rss_before"] / MIB for run in runs]),
        "peak_mib": spread([run["peak"] / MIB for run in runs]),
        "peak_over_baseline_mib": spread(deltas),
        "peak_over_baseline_bytes_per_pixel": round(
            statistics.median(deltas) * MIB / (megapixels * 1e6), 1
        ),
        "peak_over_rss_before": round(
            statistics.median(run["peak"] / run["rss_before"] for run in runs), 2
        ),
    }


def table_of(figures):
    def cell(figure, form="{:.0f}"):
        low, high = form.format(figure["min"]), form.format(figure["max"])
        return f"{form.format(figure['median'])} ({low}–{high})"

    lines = [
        "Rendition worker: uploads.renditions.make, one process per run (median, min–max)",
        f"{'format':>6} | {'MP':>5} | {'original':>9} | {'runs':>4} | {'make ms':>18} | "
        f"{'read ms':>6} | {'RSS before':>10} | {'peak MiB':>15} | {'peak − before':>15} | "
        f"{'B/px':>5} | {'peak/before':>11}",
    ]
    for row in figures["rows"]:
        lines.append(
            f"{row['format']:>6} | {row['megapixels']:>5.1f} | "
            f"{row['original_bytes'] / MIB:>5.1f} MiB | {row['runs']:>4} | "
            f"{cell(row['make_ms']):>18} | {row['read_ms']['median']:>7.1f} | "
            f"{row['rss_before_mib']['median']:>6.1f} MiB | {cell(row['peak_mib']):>15} | "
            f"{cell(row['peak_over_baseline_mib']):>15} | "
            f"{row['peak_over_baseline_bytes_per_pixel']:>5.1f} | "
            f"{row['peak_over_rss_before']:>11.2f}"
        )
    return "\n".join(lines)


def report(figures, folder, name="renditions"):
    """Print the table, write ``folder``/``name``.json; its path."""
    return write_report(table_of(figures), json.dumps(figures, indent=2), folder, name)


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1])))
