"""French ships complete: every message of the .po files is translated, not
fuzzy, and the committed .mo files say the same."""

import ast
import gettext
from pathlib import Path

import pytest

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
