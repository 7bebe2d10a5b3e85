"""The README's `make run`, as a new user runs it: from a fresh `git clone`,
with no argument but the ports (the defaults may be taken here), in a
terminal without the project's variables, then in Chromium.

The clone is shared by the tests of this module so that its virtualenv is
made once.
"""

import os
import re
import signal
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from project.management.commands.rundev import default_route_address
from project.seaweedfs import GRPC_OFFSET, LATE_PORT_RANGE, free_weed_ports, port_is_free
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.images import jpeg
from tests.support.processes import CLEAN
from uploads.renditions import DEFAULT_RENDITIONS, render

BASE_DIR = Path(__file__).resolve().parents[2]
README = (BASE_DIR / "README.md").read_text()

# A new user's terminal: none of the project's variables (CI sets
# DATABASE_URL), and not inside `make test`, whose command-line variables
# would reach the inner make through MAKEFLAGS.
USER_ENV = {
    key: value
    for key, value in CLEAN.items()
    if key not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")
}

SECOND_TERMINAL = "DJANGO_ENV_FILE=.dev/s3.env .venv/bin/python manage.py check_storage"
SAVED = ".picker .status:text('Photo enregistrée.')"
# Photos of shapes no demo photo has (those are square), to find them in
# the list by their thumbnails' sizes.
FIRST_PHOTO = (613, 409)
LOCAL_PHOTO = (577, 433)
LAN_PHOTO = (541, 397)
# How long the list's placeholders may wait for make run's worker.
RENDITIONS_TIMEOUT_MS = 60_000


class MakeRun:
    """``make run ARGS`` in ``folder``, as a terminal's foreground job: in a
    process group of its own, its output read as it comes."""

    def __init__(self, folder, *args):
        self.folder = folder
        self.process = subprocess.Popen(
            ["make", "run", *args],
            cwd=folder,
            env=USER_ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines = []
        # The dev server logs every request: the pipe must never fill up.
        self.reader = threading.Thread(target=self.read)
        self.reader.start()

    def read(self):
        for line in self.process.stdout:
            self.lines.append(line)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        # Whatever happened, nothing is left running; the output goes with
        # a failure's report.
        kill_leftovers(self.folder)
        self.reader.join(5)
        print(self.output)

    @property
    def output(self):
        return "".join(self.lines)

    def wait_for(self, pattern, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.output, re.MULTILINE)
            if match:
                return match
            if self.process.poll() is not None:
                self.reader.join(5)
                match = re.search(pattern, self.output, re.MULTILINE)
                if match:
                    return match
                break
            time.sleep(0.2)
        raise AssertionError(f"make run never printed {pattern!r}:\n{self.output[-6000:]}")

    def interrupt(self):
        """Ctrl-C: SIGINT to the foreground process group."""
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(60)
        finally:
            self.reader.join(5)


def clone_processes(folder):
    """The processes started from ``folder``: run from it or by its files."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if str(folder) in command or Path(cwd).is_relative_to(folder):
            found[int(entry.name)] = command
    return found


def listening_ports(pids):
    """The TCP ports on which the processes ``pids`` listen."""
    ports = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                ports[fields[9]] = int(fields[1].rsplit(":", 1)[1], 16)
    found = set()
    for pid in pids:
        try:
            descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for descriptor in descriptors:
            try:
                target = os.readlink(descriptor)
            except OSError:
                continue
            inode = target.removeprefix("socket:[").removesuffix("]")
            if inode in ports:
                found.add(ports[inode])
    return found


def stop_and_check_everything_stopped(run, ports):
    """Ctrl-C; then nothing started from the clone is left, and every port
    it listened on is free again."""
    in_use = listening_ports(clone_processes(run.folder))
    assert set(ports) <= in_use, f"{sorted(ports)} should be among {sorted(in_use)}"
    run.interrupt()
    assert clone_processes(run.folder) == {}, "every process make run started has exited"
    for port in in_use:
        assert port_is_free(port, "0.0.0.0"), f"port {port} is free again"


def kill_leftovers(folder):
    for pid in clone_processes(folder):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fresh") / "clone"
    subprocess.run(["git", "clone", "-q", str(BASE_DIR), str(folder)], check=True)
    yield folder
    kill_leftovers(folder)


@contextmanager
def phone(playwright, *extra_args):
    """A page in Chromium, phone-sized, in French."""
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args]
    )
    try:
        page = browser.new_page(locale="fr-FR", viewport={"width": 412, "height": 915})
        page.set_default_timeout(20_000)
        page.on("console", lambda message: print(f"console {message.type}: {message.text}"))
        page.on("pageerror", lambda error: print(f"page error: {error}"))
        yield page
    finally:
        browser.close()


def staff_login(output):
    """A site's staff login, as make run printed it."""
    match = re.search(r"^\s+(\S+)\s+(\S+)\s+\(staff, ", output, re.MULTILINE)
    assert match, f"make run prints the demo logins:\n{output}"
    return match.groups()


def log_in(page, url, username, password):
    page.goto(url + "accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")
    page.wait_for_url(url)


def product_photos(page, url):
    """The products of the list: each name with the natural size of its
    thumbnail, [0, 0] when it did not load, None without one.

    Photos whose renditions make run's worker has yet to make show a
    placeholder, which the page itself replaces once they are made: this
    waits for that, without reloading, for as long as a person would."""
    page.goto(url)
    page.wait_for_function(
        "() => !document.querySelector('.products [data-rendition-status]')",
        timeout=RENDITIONS_TIMEOUT_MS,
    )
    page.wait_for_function(
        "() => [...document.querySelectorAll('.products img.thumbnail')].every(i => i.complete)"
    )
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('.products li')]
            .filter(li => li.querySelector('.name'))
            .map(li => {
                const img = li.querySelector('img.thumbnail');
                return [li.querySelector('.name').textContent,
                        img ? [img.naturalWidth, img.naturalHeight] : null];
            }))"""
    )


def no_broken_photo(photos):
    broken = [name for name, size in photos.items() if size == [0, 0]]
    assert not broken, f"photos that do not load: {broken}"


def upload_photo(page, url, size):
    """With the picker of the list's first product; returns its name."""
    page.goto(url)
    first = page.locator(".products li a").first
    name = first.locator(".name").text_content()
    first.click()
    # Loaded: the picker's module listens to its input.
    page.wait_for_url(re.compile(r"/products/\d+/$"), wait_until="load")
    page.locator(".picker input[type=file]").first.set_input_files(
        files=[{"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": jpeg(size)}]
    )
    page.wait_for_selector(SAVED)
    return name


def thumbnail(size):
    """The natural size of the list's thumbnail of a photo of ``size``, on
    the phone's 1x screen: its ``thumb_small`` rendition, as the renditions
    task makes it, never the original."""
    made = render(jpeg(size), DEFAULT_RENDITIONS, max_pixels=max(size) ** 2)
    _webp, width, height = made["thumb_small"]
    return [width, height]


def assert_demo_photos(photos):
    shown = [name for name, size in photos.items() if size]
    assert len(shown) > len(photos) / 2, f"most demo products show a photo: {photos}"


@pytest.mark.timeout(600)  # the clone's virtualenv is made here
def test_make_run_from_a_fresh_clone(clone, playwright):
    web_port, s3_port = free_weed_ports(2, port_range=LATE_PORT_RANGE)
    ports = [web_port, s3_port, s3_port + GRPC_OFFSET]
    url = f"http://localhost:{web_port}/"
    with MakeRun(clone, f"PORT={web_port}", f"S3_PORT={s3_port}") as run:
        assert run.wait_for(r"Inventory is running at (\S+)", 480)[1] == url
        username, password = staff_login(run.output)
        with phone(playwright) as page:
            log_in(page, url, username, password)
            demo = product_photos(page, url)
            no_broken_photo(demo)
            name = upload_photo(page, url, FIRST_PHOTO)
            photos = product_photos(page, url)
            assert photos[name] == thumbnail(FIRST_PHOTO), "the new photo shows in the list"
            no_broken_photo(photos)

        # A second terminal, as the README says, while make run runs.
        assert SECOND_TERMINAL in README
        second = subprocess.run(
            SECOND_TERMINAL,
            shell=True,
            cwd=clone,
            env=USER_ENV,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 0, second.stdout + second.stderr
        assert "The store is ready." in second.stdout
        stop_and_check_everything_stopped(run, ports)

    # Again in the same clone: the data is kept.
    with MakeRun(clone, f"PORT={web_port}", f"S3_PORT={s3_port}") as run:
        run.wait_for(r"Inventory is running at", 120)
        with phone(playwright) as page:
            log_in(page, url, username, password)
            photos = product_photos(page, url)
            assert photos[name] == thumbnail(FIRST_PHOTO), "the photo is still there"
            no_broken_photo(photos)
        stop_and_check_everything_stopped(run, ports)

    # Last, so that the rest is tested whatever seed_demo does.
    assert_demo_photos(demo)


@pytest.mark.timeout(600)  # or here, when run alone
def test_a_taken_port_stops_make_run_at_once(clone):
    web_port, s3_port = free_weed_ports(2, port_range=LATE_PORT_RANGE)
    with (
        socket.create_server(("127.0.0.1", s3_port)),
        MakeRun(clone, f"PORT={web_port}", f"S3_PORT={s3_port}") as run,
    ):
        run.process.wait(480)
        run.reader.join(5)
        assert run.process.returncode != 0
        said = re.search(
            rf"Port {s3_port} \(S3\) is taken on 127.0.0.1: .* make run PORT=(\d+) S3_PORT=(\d+)",
            run.output,
        )
        assert said, "says which port, and what to pass"
        assert s3_port not in (int(said[1]), int(said[2]))
        assert "Starting SeaweedFS" not in run.output, "stops before starting anything"
        assert clone_processes(clone) == {}


@pytest.mark.timeout(600)  # or here, when run alone
def test_make_run_storage_local_keeps_its_own_data(clone, playwright):
    assert "make run STORAGE=local" in README
    (web_port,) = free_weed_ports(1, port_range=LATE_PORT_RANGE)
    url = f"http://localhost:{web_port}/"
    with MakeRun(clone, "STORAGE=local", f"PORT={web_port}") as run:
        run.wait_for(r"Inventory is running at", 480)
        username, password = staff_login(run.output)
        with phone(playwright) as page:
            log_in(page, url, username, password)
            demo = product_photos(page, url)
            # Nothing from S3 mode's database: no link to a missing file.
            no_broken_photo(demo)
            assert thumbnail(FIRST_PHOTO) not in demo.values()
            name = upload_photo(page, url, LOCAL_PHOTO)
            photos = product_photos(page, url)
            assert photos[name] == thumbnail(LOCAL_PHOTO)
        stop_and_check_everything_stopped(run, [web_port])
    assert (clone / ".dev/local/media/sites").is_dir(), "media in the mode's own folder"
    assert_demo_photos(demo)


@pytest.mark.timeout(600)  # or here, when run alone
def test_make_run_for_phones_on_the_network(clone, playwright):
    assert "make run HOST=0.0.0.0" in README
    address = default_route_address()
    if address is None:
        pytest.skip("this machine has no network address")
    web_port, s3_port = free_weed_ports(2, port_range=LATE_PORT_RANGE)
    ports = [web_port, s3_port, s3_port + GRPC_OFFSET]
    with MakeRun(clone, "HOST=0.0.0.0", f"PORT={web_port}", f"S3_PORT={s3_port}") as run:
        url = run.wait_for(r"on your network: (\S+)", 480)[1]
        assert url == f"http://{address}:{web_port}/"
        username, password = staff_login(run.output)
        # Phones' browsers give WebCrypto to secure contexts only; the
        # README's Chrome switch makes these origins count as such.
        secure = f"http://{address}:{web_port},http://{address}:{s3_port}"
        with phone(playwright, f"--unsafely-treat-insecure-origin-as-secure={secure}") as page:
            log_in(page, url, username, password)
            assert page.evaluate("isSecureContext && !!crypto.subtle")
            name = upload_photo(page, url, LAN_PHOTO)
            photos = product_photos(page, url)
            assert photos[name] == thumbnail(LAN_PHOTO)
            no_broken_photo(photos)
            sources = page.eval_on_selector_all(
                ".products img.thumbnail", "images => images.map(i => i.src)"
            )
            assert all(s.startswith(f"http://{address}:{s3_port}/") for s in sources), sources
        stop_and_check_everything_stopped(run, ports)
