"""Where and how the benchmarks report: each prints its table and writes its
figures as JSON to ``$BENCH_OUTPUT/<name>.json`` (default: ``.bench/`` in
the repository); the smoke tests in tests/system write to a folder of their
own."""

import os
from pathlib import Path

OUTPUT = Path(os.environ.get("BENCH_OUTPUT", Path(__file__).resolve().parents[2] / ".bench"))


def write_report(table, json_text, folder, name):
    """Print ``table``, write ``json_text`` to ``folder``/``name``.json; its path."""
    print()
    print(table)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json_text)
    print(f"  written to {path}")
    return path
