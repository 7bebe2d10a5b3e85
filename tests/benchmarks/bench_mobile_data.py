"""
Costly mobile data (issue 16): what a phone pays to look at the product list,
twice, and to upload one 12 MP photo through the picker.

Run with ``make bench``. 25 products, each with a photo made from a real
photograph scaled to 12 MP with sensor grain (tests/support/photos.py),
chosen in the product page's picker; then Chromium on the phone profile
(390×844, DPR 2, touch; 1.6 Mbit/s down, 750 kbit/s up, 150 ms) opens the
list, opens it again a moment later, uploads one more 12 MP photo, and
the same photo again for another product whose confirm fails, then taps
"Try again" (what that tap sends). See
tests/support/mobile_data.py for what is counted. Prints a table with the
goals beside the figures and writes them as JSON to
$BENCH_OUTPUT/mobile_data.json (default: .bench/ in the repository).

It measures whatever the app does; it checks no goal, so that it can be run
before and after a change.
"""

from tests.support.bench_output import OUTPUT
from tests.support.browser import serve_from_bucket
from tests.support.mobile_data import measure, report

PRODUCTS = 25


def test_mobile_data(
    playwright, live_server, seaweedfs, s3_bucket, transactional_db, sites, make_user, settings
):
    settings.DEBUG = True
    serve_from_bucket(seaweedfs, s3_bucket, live_server)
    site = sites[0]

    figures = measure(playwright, live_server, site, make_user("staff", site), products=PRODUCTS)

    report(figures, OUTPUT)
