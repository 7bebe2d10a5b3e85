"""The versions the suite passes with are the versions everyone installs.

``requirements*.txt`` hold ranges; ``constraints.txt`` (``make lock``, with
pip-tools) pins every package. ``make run``, ``make test``, CI and the
Dockerfile install with it, so a fresh clone next year gets what was tested.
"""

import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

BASE_DIR = Path(__file__).resolve().parents[2]


def requirement_lines(path):
    for line in (BASE_DIR / path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            yield Requirement(line)


def pins():
    return {canonicalize_name(req.name): req for req in requirement_lines("constraints.txt")}


def test_every_requirement_is_pinned_within_its_range():
    pinned = pins()
    for path in ("requirements.txt", "requirements-dev.txt"):
        for req in requirement_lines(path):
            pin = pinned.get(canonicalize_name(req.name))
            assert pin is not None, f"{req.name} ({path}) is not in constraints.txt: make lock"
            (spec,) = pin.specifier
            assert spec.operator == "==", f"{pin} is not an exact pin"
            assert req.specifier.contains(spec.version), (
                f"constraints.txt pins {pin}, outside {path}'s {req}: make lock"
            )


def test_the_suite_runs_with_the_pinned_versions():
    mismatches = []
    for name, pin in pins().items():
        if pin.marker is not None and not pin.marker.evaluate():
            continue
        (spec,) = pin.specifier
        try:
            installed = version(name)
        except PackageNotFoundError:
            mismatches.append(f"{name} is not installed")
            continue
        if installed != spec.version:
            mismatches.append(f"{name} {installed} installed, {spec.version} pinned")
    assert not mismatches, "; ".join(mismatches)


def test_every_install_uses_the_constraints():
    makefile = (BASE_DIR / "Makefile").read_text()
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    assert re.search(r"pip install .*-r requirements-dev\.txt -c constraints\.txt", makefile)
    assert re.search(r"pip install -r requirements\.txt -c constraints\.txt", dockerfile)
    assert "COPY requirements.txt constraints.txt" in dockerfile
