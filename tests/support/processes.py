"""Running the project's commands in processes of their own, as an operator
or a second app instance would, with an environment the test chooses."""

import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def manage(env, *command):
    """``manage.py COMMAND`` with ``env``; its output. Fails the test, with
    what the command printed, unless it exits 0."""
    result = subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout
