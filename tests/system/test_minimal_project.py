"""
``uploads`` works in any project: the upload contract runs in a minimal
second project (``minimal_project/``: DRF's defaults, no ``inventory``, no
``project``, one toy target), in each storage mode.

pytest-django allows one settings module per process, so the contract runs
in a pytest of its own, with that project's settings and none of this
suite's conftest files; a failure shows its output.
"""

import os
import uuid
from pathlib import Path

import pytest

from tests.support.processes import BASE_DIR, python

pytestmark = pytest.mark.slow

PROJECT_DIR = Path(__file__).resolve().parent / "minimal_project"


def own_environment(media_root):
    """This environment without the main project's settings (its ``.env``
    is loaded into it): the minimal project reads only its own."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "DJANGO_", "UPLOADS_", "DATABASE_", "REDIS_"))
    }
    return {**env, "PYTHONPATH": str(BASE_DIR), "MINIMAL_MEDIA_ROOT": str(media_root)}


@pytest.fixture(params=["filesystem", "s3"])
def environment(request, tmp_path):
    env = own_environment(tmp_path / "media")
    if request.param == "s3":
        seaweedfs = request.getfixturevalue("seaweedfs")
        bucket = f"minimal-{uuid.uuid4().hex[:16]}"
        seaweedfs.ensure_bucket(bucket)
        env.update(
            AWS_STORAGE_BUCKET_NAME=bucket,
            AWS_ACCESS_KEY_ID=seaweedfs.access_key,
            AWS_SECRET_ACCESS_KEY=seaweedfs.secret_key,
            AWS_S3_ENDPOINT_URL=seaweedfs.endpoint_url,
        )
    return env


def test_the_upload_contract_holds_in_a_minimal_project(environment):
    output = python(
        environment,
        "-m",
        "pytest",
        "-c",
        str(PROJECT_DIR / "pytest.ini"),
        "-q",
        str(PROJECT_DIR / "check_contract.py"),
        timeout=240,
    )
    assert "skipped" not in output, output
