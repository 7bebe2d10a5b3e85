"""The production settings with the benchmark's proxy upload added to the
URLconf (``tests.support.proxy_upload``), the process's socket bytes counted
(``tests.support.socket_bytes``)."""

from project.settings import *  # noqa: F403

ROOT_URLCONF = "tests.support.proxy_upload"

from tests.support import socket_bytes  # noqa: E402

socket_bytes.install()
