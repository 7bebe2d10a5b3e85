"""STAND-IN (lane ``pages``; the ``renditions`` lane owns the real module):
the names of /work/wt/CONTRACT16.md that the pages and the API read."""

import posixpath
from dataclasses import dataclass


@dataclass(frozen=True)
class RenditionSpec:
    name: str
    max_side: int
    quality: int = 80
    method: int = 4


DEFAULT_RENDITIONS = (
    RenditionSpec("thumb_small", 100),
    RenditionSpec("thumb", 200),
    RenditionSpec("display", 1600),
)


def rendition_name(original_name, spec_name):
    folder, filename = posixpath.split(original_name)
    stem = posixpath.splitext(filename)[0]
    return posixpath.join(folder, "renditions", f"{stem}-{spec_name}.webp")


def get_renditions(names):
    from uploads.models import RenditionSet

    names = [name for name in names if name]
    if not names:
        return {}
    return {item.original: item for item in RenditionSet.objects.filter(original__in=names)}


def get_rendition_set(name):
    return get_renditions([name]).get(name)
