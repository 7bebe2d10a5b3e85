"""The throwaway SeaweedFS that the tests and ``make run`` start."""

import socket

import pytest

import project.seaweedfs
from project.seaweedfs import GRPC_OFFSET, SeaweedFS
from tests.support import compose


@pytest.mark.process
def test_a_port_taken_before_weed_binds_it_is_cured_by_other_ports(tmp_path, monkeypatch):
    """A port free when checked can be taken before weed binds it (seen in
    CI: every test of one worker failed on a weed that exited). SeaweedFS
    then starts again on other ports."""
    free_weed_ports = project.seaweedfs.free_weed_ports
    taken = []

    def then_taken(count, host):
        ports = free_weed_ports(count, host)
        if not taken:  # the first attempt's master loses its gRPC twin
            sock = socket.socket()
            sock.bind((host, ports[0] + GRPC_OFFSET))
            sock.listen()
            taken.append(sock)
        return ports

    monkeypatch.setattr(project.seaweedfs, "free_weed_ports", then_taken)
    try:
        with SeaweedFS(tmp_path) as server:
            server.client().create_bucket(Bucket="after-a-port-was-taken")
            buckets = server.client().list_buckets()["Buckets"]
    finally:
        taken[0].close()

    assert [bucket["Name"] for bucket in buckets] == ["after-a-port-was-taken"]
    assert "address already in use" in (tmp_path / "weed.log").read_text()


@pytest.mark.process
def test_weed_exiting_for_another_reason_is_not_started_again(tmp_path, monkeypatch):
    monkeypatch.setattr(SeaweedFS, "command", lambda self, *ports: ["false"])
    launches = []
    launch = SeaweedFS.launch
    monkeypatch.setattr(
        SeaweedFS, "launch", lambda self, *ports: (launches.append(ports), launch(self, *ports))
    )

    with pytest.raises(RuntimeError, match="exited with status 1") as raised:
        SeaweedFS(tmp_path).start(timeout=10)

    assert type(raised.value) is RuntimeError
    assert len(launches) == 1


@pytest.mark.process
def test_the_compose_stack_store_moves_to_other_ports_when_one_is_taken(tmp_path, monkeypatch):
    """The same cure for docker-compose's s3 service, started through its
    script by the stack test and the load benchmarks; a restart keeps the
    ports the first start found."""
    free_weed_ports = compose.free_weed_ports
    taken = []

    def then_taken(count):
        ports = free_weed_ports(count)
        if not taken:  # the first attempt's master (after S3) loses its gRPC twin
            sock = socket.socket()
            sock.bind(("127.0.0.1", ports[1] + GRPC_OFFSET))
            sock.listen()
            taken.append(sock)
        return ports

    monkeypatch.setattr(compose, "free_weed_ports", then_taken)
    service = {"environment": {"S3_ACCESS_KEY": "access", "S3_SECRET_KEY": "secret"}}
    try:
        with compose.ComposedSeaweedFS(service, tmp_path / "s3-data") as server:
            port = server.s3_port
            server.kill()
            server.start()
            assert server.s3_port == port
    finally:
        taken[0].close()

    assert "address already in use" in (tmp_path / "s3-data.log").read_text()
