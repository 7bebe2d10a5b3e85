"""The README's curl example, for Kotlin and Swift developers, run as it is
written against a live server in both storage modes."""

import json
import re
import subprocess
from pathlib import Path

from django.conf import settings as django_settings

from tests.support.images import jpeg

README = Path(django_settings.BASE_DIR) / "README.md"


def curl_example():
    text = README.read_text()
    blocks = re.findall(r"```sh\n(API=.*?)```", text, flags=re.S)
    assert len(blocks) == 1, "the README should hold one curl example starting with API="
    return blocks[0]


def test_readme_curl_example_uploads_and_confirms(store, live_server, settings, staff, product):
    settings.DEBUG = True
    script = (
        curl_example()
        .replace("API=http://localhost:8000", f"API={live_server.url}")
        .replace(
            '"username": "dakar-staff", "password": "demo1234"',
            '"username": "staff", "password": "pw"',
        )
        .replace('\\"object_id\\": 1,', f'\\"object_id\\": {product.pk},')
    )
    assert str(product.pk) in script and live_server.url in script
    workdir = Path(settings.MEDIA_ROOT).parent / "curl"
    workdir.mkdir()
    (workdir / "photo.jpg").write_bytes(jpeg((320, 240)))

    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    image = json.loads(result.stdout.splitlines()[-1])
    assert image["status"] == "confirmed" and (image["width"], image["height"]) == (320, 240)
    product.refresh_from_db()
    assert "media/" + product.image.name == image["key"]
    assert store.read(image["key"]) == (workdir / "photo.jpg").read_bytes()
