"""``make run``'s last step: the banner that says where to go comes only
once the web server answers there, and a web server that stops is an error.

runserver and the worker are stand-ins here (small Python programs), so
that what rundev does with them is what is tested, in a second.
"""

import io
import signal
import socket
import subprocess
import sys

import pytest
from django.core.management import CommandError
from django.http.request import split_domain_port, validate_host

from project.management.commands.rundev import Command
from project.seaweedfs import free_weed_ports

BANNER = "Inventory is running\n"
# A process that waits, as the task worker does.
WAITING = "import time; time.sleep(60)"


# runserver as it takes its address: Django's own pattern, then a bind
# there alone; it stops, with status 0, after two seconds.
RUNSERVER = """
import re, socket, sys, time
from django.core.management.commands.runserver import naiveip_re
match = re.match(naiveip_re, sys.argv[1])
if not match:
    sys.exit(f"{sys.argv[1]!r} is not a valid port number or address:port pair.")
host = match["addr"].strip("[]")
family = socket.AF_INET6 if match["ipv6"] else socket.AF_INET
server = socket.create_server((host, int(match["port"])), family=family)
time.sleep(2)
"""


class StandIns(Command):
    """rundev with ``runserver`` and ``db_worker`` replaced by programs,
    and the ``manage.py`` commands before them (migrate, seed_demo) by
    nothing."""

    def __init__(self, runserver):
        super().__init__(stdout=io.StringIO())
        self.runserver = runserver
        self.started = {}
        self.environments = {}

    def start(self, env, command, *args):
        program = self.runserver if command == "runserver" else WAITING
        self.environments[command] = env
        self.started[command] = subprocess.Popen(
            [sys.executable, "-c", program, *args], start_new_session=True
        )
        return self.started[command]

    def manage(self, env, command, *args):
        pass

    @property
    def output(self):
        return self.stdout._out.getvalue()


@pytest.fixture
def port():
    (port,) = free_weed_ports(1)
    return port


@pytest.fixture
def sigterm_kept():
    """rundev turns SIGTERM into KeyboardInterrupt; pytest gets its own back."""
    previous = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, previous)


@pytest.fixture
def loopback_only(port):
    """Another program listening on 127.0.0.1 alone, on the web port."""
    with socket.create_server(("127.0.0.1", port)) as server:
        yield server


def test_the_banner_comes_once_the_server_answers_at_every_address_it_names(port):
    # Listens on every address after half a second, then stops, with
    # status 0, a moment later.
    runserver = (
        "import socket, time; time.sleep(0.5);"
        f"s = socket.create_server(('0.0.0.0', {port})); time.sleep(1.5)"
    )
    command = StandIns(runserver)

    command.serve("0.0.0.0", port, {}, BANNER, ["127.0.0.1", "127.0.0.2"])

    assert command.output == BANNER
    assert command.started["db_worker"].poll() is not None


def test_another_program_on_the_loopback_address_alone_gets_no_banner(port, loopback_only):
    # runserver cannot bind the port another program took after make run
    # checked it: it says so and exits 1. 127.0.0.1 answered all along.
    runserver = "import sys, time; time.sleep(1.5); sys.exit(1)"
    command = StandIns(runserver)

    with pytest.raises(CommandError, match=r"The web server stopped \(exit status 1\)"):
        command.serve("0.0.0.0", port, {}, BANNER, ["127.0.0.1", "127.0.0.2"])

    assert BANNER not in command.output
    assert command.started["db_worker"].poll() is not None


def test_a_web_server_that_stops_by_itself_is_an_error(port):
    runserver = "import sys; sys.exit(2)"
    command = StandIns(runserver)

    with pytest.raises(CommandError, match=r"exit status 2"):
        command.serve("127.0.0.1", port, {}, BANNER, ["127.0.0.1"])

    assert command.output == ""


def test_a_silent_network_address_is_named_once_then_waited_for(port):
    # Answers on 127.0.0.1 alone, as a firewall would leave it, then stops.
    runserver = (
        f"import socket, time; s = socket.create_server(('127.0.0.1', {port})); time.sleep(2)"
    )
    command = StandIns(runserver)
    command.patience = 0.5

    command.serve("0.0.0.0", port, {}, BANNER, ["127.0.0.1", "127.0.0.2"])

    warning = f"not yet at http://127.0.0.2:{port}/: does a firewall block it?"
    assert command.output.count(warning) == 1
    assert BANNER not in command.output


@pytest.mark.parametrize(
    ("host", "url"),
    [("127.0.0.2", "http://127.0.0.2:{port}"), ("::1", "http://[::1]:{port}")],
)
def test_another_loopback_host_is_served_and_named_where_it_answers(
    host, url, port, tmp_path, sigterm_kept
):
    """``make run HOST=127.0.0.2`` or ``HOST=::1``: runserver binds that
    address alone, so it is the one waited for, the one the banner names,
    and one the pages it serves admit (Host header, CSRF origin)."""
    url = url.format(port=port)
    command = StandIns(RUNSERVER)

    command.handle(
        storage="local",
        host=host,
        port=port,
        s3_port=port,
        bucket="unused",
        data_dir=str(tmp_path),
    )

    assert f"Inventory is running at {url}/\n" in command.output
    env = command.environments["runserver"]
    domain, _ = split_domain_port(url.removeprefix("http://"))
    assert validate_host(domain, env["DJANGO_ALLOWED_HOSTS"].split(","))
    assert url in env["DJANGO_CSRF_TRUSTED_ORIGINS"].split(",")
