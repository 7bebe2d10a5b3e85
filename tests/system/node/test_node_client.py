"""Runs the Node tests of frontend_snippets/direct-upload.js (node --test)
against a live server, in both storage modes."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from inventory.models import Product
from tests.support.images import jpeg

TESTS = Path(__file__).resolve().parent
NODE = shutil.which("node")


@pytest.fixture(params=["s3", "local"])
def mode(request, settings, live_server, local_media):
    if request.param == "s3":
        request.getfixturevalue("s3_bucket")
    settings.DEBUG = True  # filesystem mode: the server serves /media/
    return request.param


@pytest.mark.skipif(NODE is None, reason="Node.js is not installed")
@pytest.mark.parametrize(
    "test_file, node_options",
    [
        ("direct-upload.test.mjs", []),
        # Node 18's globals: no WebCrypto, as on a page served over plain http.
        ("direct-upload-no-webcrypto.test.mjs", ["--no-experimental-global-webcrypto"]),
    ],
)
def test_direct_upload_module_in_node(
    test_file, node_options, mode, live_server, transactional_db, sites, make_user, tmp_path
):
    version = subprocess.run([NODE, "--version"], capture_output=True, text=True).stdout
    assert int(re.match(r"v(\d+)", version)[1]) >= 20, f"the README asks for Node 20+: {version}"
    site = sites[0]
    token = Token.objects.create(user=make_user("staff", site))
    product = Product.objects.create(site_configuration=site, name="Riz", cug="R-1")
    (tmp_path / "riz.jpg").write_bytes(jpeg((320, 240)))
    (tmp_path / "notes.jpg").write_bytes(b"Liste des courses: riz, huile.\n")

    result = subprocess.run(
        [NODE, *node_options, "--test", str(TESTS / test_file)],
        env={
            **os.environ,
            "BASE_URL": live_server.url,
            "TOKEN": token.key,
            "PRODUCT_ID": str(product.pk),
            "JPEG_PATH": str(tmp_path / "riz.jpg"),
            "TEXT_PATH": str(tmp_path / "notes.jpg"),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )

    print(result.stdout, result.stderr)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout
