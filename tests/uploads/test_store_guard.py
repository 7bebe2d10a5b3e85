"""Every client of the store is bounded and guarded (uploads.guard): a
stalled store holds at most a few threads of a process, and once it has
failed a few calls in a row, calls to it fail at once until it answers
again. /healthz answers within 3 s whatever the store does."""

import contextlib
import io
import threading
import time

import pytest
from django.core.management import CommandError, call_command
from django.core.management.base import OutputWrapper
from django.utils import timezone

from legacy_media.stores import Bucket
from project.health import STORAGE_TIMEOUT
from tests.support.faults import STORE_TIMEOUT
from tests.support.modes import use_storages
from tests.support.stores import REGION
from tests.support.tickets import confirm, issue, upload
from uploads.backends import get_backend
from uploads.backends.base import ObjectMissing
from uploads.diagnostics.s3 import S3Diagnosis
from uploads.errors import StorageUnavailable
from uploads.guard import (
    Bulkhead,
    CircuitBreaker,
    StoreBusy,
    StoreCircuitOpen,
    StoreGuard,
    store_guard,
)
from uploads.media import S3MediaStorage
from uploads.models import UploadTicket
from uploads.static import S3StaticStorage

# --- Every client -----------------------------------------------------------------

BOUNDS = {
    "AWS_S3_CONNECT_TIMEOUT": 1.5,
    "AWS_S3_READ_TIMEOUT": 2.5,
    "AWS_S3_MAX_ATTEMPTS": 3,
    "AWS_S3_RETRY_MODE": "adaptive",
}


def clients(seaweedfs):
    """Every client the app, its health check and its commands make."""
    return {
        "media storage": S3MediaStorage().connection.meta.client,
        "static storage": S3StaticStorage().connection.meta.client,
        "init_bucket": S3MediaStorage().client,
        "confirm, purge_uploads": get_backend().client,
        "check_storage": S3Diagnosis().client,
        "migrate_images_to_multisite": Bucket().client,
        "/healthz": get_backend(timeout=STORAGE_TIMEOUT).client,
        "SeaweedFS helper": seaweedfs.client(REGION),
    }


def test_every_client_takes_its_bounds_from_the_settings(s3_bucket, seaweedfs, settings):
    for name, value in BOUNDS.items():
        setattr(settings, name, value)
    use_storages(settings)

    for name, client in clients(seaweedfs).items():
        config = client.meta.config
        health = name == "/healthz"
        assert config.connect_timeout == (STORAGE_TIMEOUT if health else 1.5), name
        assert config.read_timeout == (STORAGE_TIMEOUT if health else 2.5), name
        assert config.retries == {"total_max_attempts": 1 if health else 3, "mode": "adaptive"}
        assert config.request_checksum_calculation == "when_required", name


def test_every_client_of_the_app_is_guarded(s3_bucket, seaweedfs, settings):
    for name, client in clients(seaweedfs).items():
        if name == "SeaweedFS helper":  # the tests' and make run's, not the app's
            continue
        breaker = store_guard(client.meta.endpoint_url).breaker
        for _ in range(breaker.threshold):
            breaker.failed()
        with pytest.raises(StoreCircuitOpen):
            client.head_object(Bucket=s3_bucket, Key="media/anything")
        breaker.succeeded()


# --- The circuit breaker ---------------------------------------------------------------


class Clock:
    now = 100.0

    def __call__(self):
        return self.now


def test_the_breaker_opens_after_failures_in_a_row_then_lets_one_trial_through():
    clock = Clock()
    breaker = CircuitBreaker(threshold=3, cooldown=5, clock=clock)

    assert not breaker.failed() and not breaker.failed()
    breaker.succeeded()  # the count is of failures in a row
    assert not breaker.failed() and not breaker.failed()
    assert breaker.allow() is None
    assert breaker.failed()
    assert breaker.allow() == 5

    clock.now += 4.5
    assert breaker.allow() == pytest.approx(0.5)
    clock.now += 0.5
    assert breaker.allow() is None, "one trial after the cooldown"
    assert breaker.allow() == 5, "and only one"
    assert breaker.failed(), "a failed trial opens it again"
    assert breaker.allow() == 5

    clock.now += 5
    assert breaker.allow() is None
    clock.now += 5
    assert breaker.allow() is None, "a trial that never ended does not keep it shut"
    assert breaker.succeeded()
    assert breaker.allow() is None and breaker.allow() is None


def test_once_the_store_failed_confirms_answer_at_once_until_it_is_back(
    faulty_store, api, product, settings
):
    settings.UPLOADS = {**settings.UPLOADS, "STORE_FAILURES": 1, "STORE_COOLDOWN": 1}
    ticket = upload(api, product, b"\x89PNG" + bytes(200))
    faulty_store.stall()

    first = confirm(api, ticket)  # its HEAD fails (no clean-up: nothing was written)
    stalled = faulty_store.stalled
    started = time.monotonic()
    second = confirm(api, ticket)
    elapsed = time.monotonic() - started

    assert first.status_code == second.status_code == 503
    assert second.json()["code"] == "storage_unavailable"
    assert second["Retry-After"] == "1"
    # At once: not after the store's timeout, which a call to the stalled
    # store waits at least (a busy machine took 0.42 s for the request).
    assert elapsed < STORE_TIMEOUT, elapsed
    assert faulty_store.stalled == stalled, "the store was not called"

    faulty_store.heal()
    time.sleep(1)
    # One trial, which succeeds: calls go on as before.
    assert confirm(api, ticket).json()["code"] == "invalid_image"


# --- The bulkhead -------------------------------------------------------------------------


def stall_slots(faulty_store, count):
    """``count`` threads whose calls the stalled store holds, once held."""
    faulty_store.stall()
    waiting = [threading.Thread(target=head_quietly) for _ in range(count)]
    for thread in waiting:
        thread.start()
    deadline = time.monotonic() + 2
    while faulty_store.stalled < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return waiting


def timed_head(backend):
    started = time.monotonic()
    with pytest.raises(StorageUnavailable) as refused:
        backend.head("media/sites/1/products/incoming/x.png")
    return time.monotonic() - started, refused.value


@contextlib.contextmanager
def both_slots_stalled(faulty_store, settings, wait, read_timeout):
    """A backend with 2 slots, each held by a call the stalled store holds
    (and 100 failures before a circuit opens); the store heals after."""
    settings.UPLOADS = {
        **settings.UPLOADS,
        "STORE_CONCURRENCY": 2,
        "STORE_FAILURES": 100,
        "STORE_WAIT": wait,
    }
    settings.AWS_S3_READ_TIMEOUT = read_timeout
    backend = get_backend()
    assert backend.client  # made before the clock starts
    waiting = stall_slots(faulty_store, 2)
    try:
        yield backend
    finally:
        faulty_store.heal()
        for thread in waiting:
            thread.join()


def test_on_a_stalled_store_one_more_call_waits_store_wait_at_most_then_none_waits(
    faulty_store, settings, caplog
):
    with both_slots_stalled(faulty_store, settings, wait=1, read_timeout=3) as backend:
        slots_taken_at = store_guard(backend.storage.store_name).bulkhead.moved_at

        # Slots were taken a moment ago: the store may yet answer, so one more
        # call waits, until STORE_WAIT after they were taken and no longer.
        elapsed, refused = timed_head(backend)
        refused_at = time.monotonic()
        assert slots_taken_at + 1 - 0.02 <= refused_at < slots_taken_at + 1 + 0.5, (
            refused_at - slots_taken_at
        )
        # Nothing has moved for STORE_WAIT: the store stalls, calls fail at once.
        elapsed, refused = timed_head(backend)
        assert elapsed < 0.5, elapsed

        assert refused.retry_after >= 1
        assert faulty_store.stalled == 2, "no more than STORE_CONCURRENCY reached the store"
        # Shed: load, not a failing store, which operators alert on (ERROR).
        shed = [r for r in caplog.records if r.name == "uploads.backends.s3"]
        assert [r.levelname for r in shed] == ["WARNING"] * 2
        assert all("shed" in r.getMessage() for r in shed)


def test_without_a_wait_one_more_call_on_a_stalled_store_fails_at_once(faulty_store, settings):
    with both_slots_stalled(faulty_store, settings, wait=0, read_timeout=1) as backend:
        elapsed, refused = timed_head(backend)

        assert elapsed < 0.5, elapsed
        assert faulty_store.stalled == 2


def test_a_burst_on_a_store_that_answers_waits_its_turn_and_sheds_nothing(faulty_store, settings):
    """Three times as many callers as slots, on a store that answers each
    call within 0.1 s, each allowed to wait 2 s for a slot: none is
    refused."""
    settings.UPLOADS = {**settings.UPLOADS, "STORE_CONCURRENCY": 1, "STORE_WAIT": 2}
    backend = get_backend()
    assert backend.client
    faulty_store.slow(0.04)
    outcomes = []

    def head():
        try:
            backend.head("media/sites/1/products/incoming/x.png")
        except ObjectMissing:
            outcomes.append("answered")
        except StorageUnavailable:
            outcomes.append("refused")

    threads = [threading.Thread(target=head) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes == ["answered"] * 3


def wait_until(condition, timeout=2):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def in_thread(target, *args):
    thread = threading.Thread(target=target, args=args)
    thread.start()
    return thread


def test_a_slot_given_back_goes_to_a_waiting_caller():
    bulkhead = Bulkhead(1, wait=5)
    assert bulkhead.acquire()
    took = []
    waiter = in_thread(lambda: took.append((bulkhead.acquire(), time.monotonic())))
    wait_until(lambda: len(bulkhead._waiting) == 1)
    assert not took, "it waits while the slot is held"
    released = time.monotonic()
    bulkhead.release()
    waiter.join(2)
    ((acquired, at),) = took
    assert acquired and at - released < 1


def test_a_slot_goes_to_the_longest_waiting_caller_not_to_whoever_asks_first():
    """A confirm gives back its slot after one store call and asks for
    another at once: it must not take it again from callers in line."""
    bulkhead = Bulkhead(1, wait=5)
    assert bulkhead.acquire()
    took = []

    def wait_in_line(name):
        if bulkhead.acquire():
            took.append(name)

    first = in_thread(wait_in_line, "first")
    wait_until(lambda: len(bulkhead._waiting) == 1)
    second = in_thread(wait_in_line, "second")
    wait_until(lambda: len(bulkhead._waiting) == 2)

    bulkhead.release()
    assert not bulkhead.acquire(may_wait=lambda: False), "the slot went to the first in line"
    first.join(2)
    assert took == ["first"]
    bulkhead.release()
    second.join(2)
    assert took == ["first", "second"]
    assert bulkhead.taken == 1


def test_no_caller_waits_longer_than_store_wait_though_slots_keep_moving():
    """Slots that keep moving keep a queue waiting, but no caller waits
    longer than STORE_WAIT: one at the back of a long line gives up at its
    own deadline (or is served before it)."""
    bulkhead = Bulkhead(1, wait=0.5)
    assert bulkhead.acquire()
    served = []

    def hold_briefly():
        if bulkhead.acquire():
            served.append(time.monotonic())
            time.sleep(0.1)
            bulkhead.release()

    ahead = [in_thread(hold_briefly) for _ in range(12)]
    wait_until(lambda: len(bulkhead._waiting) == 12)
    outcome = []
    started = time.monotonic()
    last = in_thread(lambda: outcome.append((bulkhead.acquire(), time.monotonic() - started)))
    wait_until(lambda: len(bulkhead._waiting) == 13)
    bulkhead.release()
    for thread in [*ahead, last]:
        thread.join(3)

    # Served one by one, the twelve ahead would hold it for 1.2 s.
    ((acquired, waited),) = outcome
    assert waited < 0.5 + 0.3, (acquired, waited)
    assert len(served) >= 2, "slots moved while it waited"


def test_a_caller_interrupted_once_given_a_slot_passes_it_on():
    bulkhead = Bulkhead(1, wait=5)
    assert bulkhead.acquire()
    released = threading.Event()
    condition_wait = bulkhead._changed.wait

    def wait(timeout=None):
        woken = condition_wait(timeout)
        if threading.current_thread().name == "first" and released.is_set():
            raise KeyboardInterrupt  # once the slot was handed to it
        return woken

    bulkhead._changed.wait = wait
    outcomes = []

    def first():
        try:
            bulkhead.acquire()
        except KeyboardInterrupt:
            outcomes.append("first interrupted")

    def second():
        outcomes.append(("second", bulkhead.acquire()))

    callers = [threading.Thread(target=first, name="first")]
    callers[0].start()
    wait_until(lambda: len(bulkhead._waiting) == 1)
    callers.append(in_thread(second))
    wait_until(lambda: len(bulkhead._waiting) == 2)
    released.set()
    bulkhead.release()
    for thread in callers:
        thread.join(2)

    assert outcomes == ["first interrupted", ("second", True)]
    assert bulkhead.taken == 1


def test_a_caller_that_leaves_the_line_on_an_exception_takes_no_slot():
    bulkhead = Bulkhead(1, wait=5)
    assert bulkhead.acquire()

    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        bulkhead.acquire(may_wait=interrupted)
    bulkhead.release()
    assert bulkhead.taken == 0
    assert bulkhead.acquire(may_wait=lambda: False)


def test_waiters_leave_at_once_when_the_call_holding_the_slot_fails():
    """The first in line takes the slot; the others are refused at once
    rather than waiting on a store that has just failed a call."""
    guard = StoreGuard("http://store", concurrency=1, failures=3, cooldown=5, wait=5)
    guard.before_call({})
    outcomes = []

    def call():
        try:
            guard.before_call({})
        except StoreBusy:
            outcomes.append(("refused", time.monotonic()))
        else:
            outcomes.append(("called", time.monotonic()))

    callers = [in_thread(call) for _ in range(3)]
    wait_until(lambda: len(guard.bulkhead._waiting) == 3)
    failed_at = time.monotonic()
    guard.settle(failed=True)
    for thread in callers:
        thread.join(2)

    assert sorted(kind for kind, _ in outcomes) == ["called", "refused", "refused"]
    assert all(at - failed_at < 0.5 for _, at in outcomes)


def test_a_waiter_given_the_slot_of_a_failed_call_sees_the_failure():
    """The outcome is counted before the slot changes hands: the caller
    that gets it finds the circuit open, and the slot is free again."""
    guard = StoreGuard("http://store", concurrency=1, failures=1, cooldown=5, wait=5)
    guard.before_call({})
    raised = []

    def call():
        try:
            guard.before_call({})
        except StoreCircuitOpen as exc:
            raised.append(exc)

    release = guard.bulkhead.release

    def release_then_pause():
        release()
        time.sleep(0.2)  # the caller given the slot runs first

    guard.bulkhead.release = release_then_pause
    caller = in_thread(call)
    wait_until(lambda: len(guard.bulkhead._waiting) == 1)
    guard.settle(failed=True)
    caller.join(2)

    assert len(raised) == 1
    assert guard.bulkhead.taken == 0


def test_no_call_waits_once_the_store_has_failed_one():
    """A store that fails calls is not one to queue for: a caller is
    refused at once, however recently a slot moved."""
    bulkhead = Bulkhead(1, wait=5)
    assert bulkhead.acquire()
    started = time.monotonic()
    assert not bulkhead.acquire(may_wait=lambda: False)
    assert time.monotonic() - started < 0.5

    guard = StoreGuard("http://store", concurrency=1, failures=3, cooldown=5, wait=5)
    guard.before_call({})
    assert guard.answers()
    guard.settle(failed=True)  # the breaker counts one failure, still closed
    guard.before_call({})
    started = time.monotonic()
    with pytest.raises(StoreBusy):
        guard.before_call({})
    assert time.monotonic() - started < 0.5


def test_a_bulkhead_refuses_to_give_back_a_slot_it_did_not_give():
    bulkhead = Bulkhead(2)
    assert bulkhead.acquire()
    bulkhead.release()
    with pytest.raises(ValueError):
        bulkhead.release()


def head_quietly():
    try:
        get_backend().head("media/sites/1/products/incoming/x.png")
    except (StorageUnavailable, ObjectMissing):
        pass


# --- /healthz ------------------------------------------------------------------------------


@pytest.fixture
def store_with_default_bounds(proxy, s3_bucket, settings):
    settings.AWS_S3_ENDPOINT_URL = proxy.url
    use_storages(settings)
    return proxy


@pytest.mark.parametrize("fault", ["stall", "refuse"])
def test_healthz_answers_within_3s_naming_the_store(client, db, store_with_default_bounds, fault):
    assert client.get("/healthz").status_code == 200
    getattr(store_with_default_bounds, fault)()

    started = time.monotonic()
    response = client.get("/healthz")
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "storage": "unavailable"},
    }
    assert elapsed < 3, elapsed

    store_with_default_bounds.heal()
    assert client.get("/healthz").status_code == 200


# --- The commands ------------------------------------------------------------------------


def run(command, *args):
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    try:
        call_command(command, *args, stdout=OutputWrapper(out), stderr=OutputWrapper(err))
        failed = False
    except CommandError as error:
        err.write(str(error))
        failed = True
    return failed, out.getvalue() + err.getvalue(), time.monotonic() - started


def test_commands_give_up_on_a_stalled_store_and_say_so(faulty_store, api, product):
    ticket = issue(api, product, b"\x89PNG" + bytes(200), content_type="image/png")
    UploadTicket.objects.filter(pk=ticket["id"]).update(
        expires_at=timezone.now() - timezone.timedelta(days=1)
    )
    faulty_store.stall()
    bound = 2 * (2 * STORE_TIMEOUT + 1)  # two stalled calls

    for command, says in [
        ("check_storage", "[FAIL] Credentials and bucket"),
        ("init_bucket", "Could not set up bucket"),
        ("purge_uploads", "1 object(s) could not be deleted"),
    ]:
        failed, output, elapsed = run(command)
        assert failed, command
        assert says in output, (command, output)
        assert elapsed < bound, (command, elapsed)
