"""
The rendition worker (issue 17, item 7): milliseconds and peak memory of
``uploads.renditions.make``, the ``make_renditions`` task's body, for a
12 MP photograph as JPEG (and one holding a second picture, MPO), PNG and
WebP, each run in a process of its own;
and once at the largest image confirm accepts (40 MP), which sizes the
worker (see tests/support/rendition_cost.py).

Prints a table and writes $BENCH_OUTPUT/renditions.json (default: .bench/).
"""

from tests.support.bench_output import OUTPUT
from tests.support.rendition_cost import LARGEST, PHONE, rendition_cost, report


def test_rendition_worker_time_and_memory(tmp_path):
    figures = rendition_cost(tmp_path, sizes=(PHONE, LARGEST), repetitions=5)
    report(figures, OUTPUT)
