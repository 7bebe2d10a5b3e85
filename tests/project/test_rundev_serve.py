"""``make run``'s last step: the banner that says where to go comes only
once the web server answers there, and a web server that stops is an error.

runserver and the worker are stand-ins here (small Python programs), so
that what rundev does with them is what is tested, in a second.
"""

import io
import socket
import subprocess
import sys

import pytest
from django.core.management import CommandError

from project.management.commands.rundev import Command
from project.seaweedfs import free_weed_ports

BANNER = "Inventory is running\n"
# A process that waits, as the task worker does.
WAITING = "import time; time.sleep(60)"


class StandIns(Command):
    """rundev with ``runserver`` and ``db_worker`` replaced by programs."""

    def __init__(self, runserver):
        super().__init__(stdout=io.StringIO())
        self.runserver = runserver
        self.started = {}

    def start(self, env, command, *args):
        program = self.runserver if command == "runserver" else WAITING
        self.started[command] = subprocess.Popen(
            [sys.executable, "-c", program], start_new_session=True
        )
        return self.started[command]

    @property
    def output(self):
        return self.stdout._out.getvalue()


@pytest.fixture
def port():
    (port,) = free_weed_ports(1)
    return port


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
