"""Rendition sets in a given state, as the renditions task leaves them, for
tests of what viewers get (the task itself is tested in tests/uploads/)."""

import posixpath

from uploads.keys import media_key
from uploads.models import RenditionSet
from uploads.renditions import DEFAULT_RENDITIONS, rendition_name


def set_renditions(original_name, state):
    """The ``RenditionSet`` of ``original_name`` in ``state`` (``"pending"``,
    ``"ready"``, ``"failed"``); when ready, each default rendition is named
    as the task names it, square at its spec's size."""
    variants = {}
    if state == RenditionSet.State.READY:
        variants = {
            spec.name: {
                "name": rendition_name(original_name, spec),
                "width": spec.max_side,
                "height": spec.max_side * 3 // 4,
                "size": 1000,
            }
            for spec in DEFAULT_RENDITIONS
        }
    rendition_set, _ = RenditionSet.objects.update_or_create(
        original=original_name,
        defaults={
            "state": state,
            "variants": variants,
            "error_code": "undecodable" if state == RenditionSet.State.FAILED else "",
        },
    )
    return rendition_set


def default_rendition_name(original_name, spec_name):
    """The media name of ``original_name``'s default rendition ``spec_name``
    (``thumb``, ``display``...), as the task names it."""
    (spec,) = [spec for spec in DEFAULT_RENDITIONS if spec.name == spec_name]
    return rendition_name(original_name, spec)


def name_after_stem(store, original_name):
    """Move the renditions of ``original_name``'s set to the names an
    earlier release gave them, after the original's stem
    (``<stem>-<spec>-<settings>.webp``), as that release left them: in
    the store, and recorded by the set. Their keys."""
    rendition_set = RenditionSet.objects.get(original=original_name)
    stem = posixpath.basename(original_name).partition(".")[0]
    older = {}
    for spec, variant in rendition_set.variants.items():
        folder, _, today = variant["name"].rpartition("/")
        name = f"{folder}/{stem}-{today.partition('-')[2]}"
        store.put(media_key(name), store.read(media_key(variant["name"])))
        store.delete(media_key(variant["name"]))
        older[spec] = {**variant, "name": name}
    rendition_set.variants = older
    rendition_set.save()
    return {media_key(variant["name"]) for variant in older.values()}
