"""French ships complete: every message of the .po files is translated, not
fuzzy, and the committed .mo files say the same; and every message the code
marks for translation is in them."""

import ast
import gettext
import json
import re
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation
from django.utils.translation import trans_real

BASE_DIR = Path(__file__).resolve().parents[2]
CATALOGS = sorted(BASE_DIR.glob("*/locale/fr/LC_MESSAGES/django.po"))


def entries(po_path):
    """(flags, msgid, msgid_plural, [msgstr...]) for each entry."""
    current, key = None, None
    for raw in po_path.read_text().splitlines() + [""]:
        line = raw.strip()
        if not line:
            if current and current["msgid"]:
                yield current
            current, key = None, None
            continue
        if line.startswith("#~"):
            continue
        current = current or {"flags": "", "msgid": "", "msgid_plural": "", "msgstr": {}}
        if line.startswith("#,"):
            current["flags"] += line
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            text = ast.literal_eval(line)
            if isinstance(key, int):
                current["msgstr"][key] += text
            else:
                current[key] += text
        else:
            name, value = line.split(" ", 1)
            text = ast.literal_eval(value)
            if name.startswith("msgstr"):
                key = int(name[7:-1]) if "[" in name else 0
                current["msgstr"][key] = text
            else:
                key = name
                current[name] = text


@pytest.mark.parametrize("po_path", CATALOGS, ids=lambda path: path.parts[-5])
def test_french_catalog_is_complete_and_compiled(po_path):
    compiled = gettext.GNUTranslations(po_path.with_suffix(".mo").open("rb"))
    found = list(entries(po_path))
    assert len(found) == po_path.read_text().count('\nmsgid "') - 1, "every entry but the header"
    for entry in found:
        assert "fuzzy" not in entry["flags"], entry["msgid"]
        assert all(entry["msgstr"].values()), f"untranslated: {entry['msgid']!r}"
        if entry["msgid_plural"]:
            assert compiled.ngettext(entry["msgid"], entry["msgid_plural"], 1) == entry["msgstr"][0]
        else:
            assert compiled.gettext(entry["msgid"]) == entry["msgstr"][0], entry["msgid"]


# The folders whose code marks messages: the apps with a catalog, and the
# project's API plumbing, which marks only Django's and DRF's own messages
# (their catalogs translate them).
SOURCES = [*(path.parents[3].name for path in CATALOGS), "project"]


@pytest.mark.parametrize("folder", SOURCES)
def test_every_message_marked_in_the_code_has_a_french_translation(
    folder, tmp_path, monkeypatch, settings
):
    """What ``make messages`` would extract from ``folder`` now (from a copy,
    so that the catalogs stay as committed) is all translated: a message
    added to the code without its French would show in English."""
    copy = tmp_path / folder
    shutil.copytree(BASE_DIR / folder, copy, ignore=shutil.ignore_patterns("__pycache__", "locale"))
    (copy / "locale").mkdir()
    settings.LOCALE_PATHS = []  # else makemessages makes the project's own locale/
    monkeypatch.chdir(copy)
    call_command("makemessages", locale=["fr"], verbosity=0)

    catalog = trans_real.translation("fr")._catalog
    extracted = list(entries(copy / "locale/fr/LC_MESSAGES/django.po"))
    assert extracted
    untranslated = [
        entry["msgid"]
        for entry in extracted
        if ((entry["msgid"], 0) if entry["msgid_plural"] else entry["msgid"]) not in catalog
    ]
    assert untranslated == []


def js_strings(source, name):
    """The strings of the locale object ``name`` exported by a JS module."""
    block = re.search(rf"export const {name} = \{{\s*strings: \{{(.*?)\n  \}},", source, re.S)
    return {
        key: json.loads(f'"{text}"')
        for key, text in re.findall(r'(\w+):\s*"((?:[^"\\]|\\.)*)"', block.group(1))
    }


def test_the_uppy_plugins_french_is_the_pages_french():
    """frontend_snippets/uppy-direct-upload.js ships its texts as Uppy
    locales, in English and French, outside Django's catalogs; they are the
    inventory pages' own messages, so their French is the catalogs'."""
    source = (BASE_DIR / "frontend_snippets" / "uppy-direct-upload.js").read_text()
    english, french = js_strings(source, "locale"), js_strings(source, "fr_FR")
    assert english, "no strings found"
    assert english.keys() == french.keys()
    with translation.override("fr"):
        assert {key: translation.gettext(text) for key, text in english.items()} == french
