"""The upload app is reusable: it never imports the project's apps."""

import ast
from pathlib import Path

UPLOADS = Path(__file__).resolve().parents[2] / "uploads"


def imported_modules(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_uploads_never_imports_inventory_or_project():
    offenders = [
        f"{path.relative_to(UPLOADS.parent)} imports {module}"
        for path in UPLOADS.rglob("*.py")
        for module in imported_modules(path)
        if module.split(".")[0] in ("inventory", "project", "legacy_media")
    ]
    assert offenders == []


def test_only_project_api_borrows_from_the_upload_api():
    """The project's API plumbing has its own home, ``project.api``, which
    adopts the upload API's error contract; ``inventory`` and the rest of
    ``project`` take it from there, not from ``uploads.api``."""
    base = UPLOADS.parent
    offenders = [
        f"{path.relative_to(base)} imports {module}"
        for app in ("inventory", "project")
        for path in (base / app).rglob("*.py")
        if not path.is_relative_to(base / "project" / "api")
        for module in imported_modules(path)
        if module == "uploads.api" or module.startswith("uploads.api.")
    ]
    assert offenders == []
