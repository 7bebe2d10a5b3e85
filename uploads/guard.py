"""
What keeps a stalled store from holding every thread of a process: a
bulkhead and a circuit breaker, shared by the process's clients of one
store.

Timeouts bound each call (``uploads.s3.client_config``), but cannot do
this alone: a gunicorn worker with 8 threads and a store that answers
nothing is pinned by 8 confirms, each waiting out its timeouts, and every
page behind them waits too. So each process guards its calls to a store:

- the **bulkhead** lets at most ``UPLOADS["STORE_CONCURRENCY"]`` calls wait
  on the store at once. Each call beyond them waits in line for a slot,
  ``UPLOADS["STORE_WAIT"]`` seconds at most, but only while the store
  answers: while no call has failed since the last that succeeded, and a
  slot was taken or given back within the last ``STORE_WAIT`` seconds.
  Then it fails, and the client gets 503 ``storage_unavailable`` with
  ``Retry-After``. So a burst on a store that answers queues, first come
  first served, each call for ``STORE_WAIT`` at most, instead of being
  refused, while a stalled store holds the process's other threads for
  ``STORE_WAIT`` at most, at its start: after that, every further call
  fails at once, and the other threads stay free for pages and API calls
  that need no store. A store that is slow rather than stalled (calls of a
  second or more that succeed), or one where only some calls hang, keeps
  slots moving: callers beyond the slots then wait up to ``STORE_WAIT``
  each, again and again, and some are refused at the end;
- the **circuit breaker** stops calling a store once
  ``UPLOADS["STORE_FAILURES"]`` calls in a row have failed (timed out,
  connection refused or cut, 5xx once botocore's retries are spent): every
  call then fails at once for ``UPLOADS["STORE_COOLDOWN"]`` seconds. After
  that one call at a time tries the store (the health check's, often);
  a success closes the circuit, a failure opens it for another cooldown.
  An answer such as 404 or 403 is a store that works: it counts as a success.

Both are written here because no library fits. pybreaker holds its lock for
the whole guarded call, so one stalled call makes every other thread of the
process wait behind it (danielfm/pybreaker#3; the pull requests removing
that lock were not merged); ``circuitbreaker`` takes no lock at all, so
threads race on its counters (fabfuel/circuitbreaker#61); neither offers a
bulkhead. Here the locks are held to update counters, never during a call.

The guard hooks into botocore's events (``before-call``, ``after-call``,
``after-call-error``) of every client ``uploads.s3`` makes, so it
covers every call through them: the health check, django-storages'
own calls, the commands. Confirm's calls, which sign their own requests
(``uploads.s3.S3Connection.store_call``), go through ``StoreGuard.call``.
A refused call raises a ``BotoCoreError`` subclass, which every caller
already handles as the store failing. What a call holds is released when
botocore has its answer: reading a streamed body afterwards is bounded by
the read timeout alone; confirm's calls read their bodies inside
the guarded call.
"""

import collections
import functools
import logging
import math
import threading
import time

from botocore.exceptions import BotoCoreError
from django.core.signals import setting_changed

from uploads.conf import upload_settings

logger = logging.getLogger(__name__)

# Where a call that passed the guard marks its request context.
GUARDED = "uploads.guard"


class StoreRefused(BotoCoreError):
    """A call the guard did not let reach the store; ``retry_after`` is the
    number of seconds after which trying again makes sense."""

    @property
    def retry_after(self):
        return self.kwargs["retry_after"]


class StoreBusy(StoreRefused):
    fmt = (
        "{limit} calls to the store {store} are in flight in this process, and no "
        "slot came to this one within the wait, or a call had just failed; it was not made"
    )


class StoreCircuitOpen(StoreRefused):
    fmt = (
        "The last {failures} calls to the store {store} failed; calls fail at once "
        "for {retry_after} more second(s)"
    )


class Bulkhead:
    """At most ``limit`` callers at once. Each caller beyond them waits
    ``wait`` seconds at most for a slot, and only while slots move: once
    every slot has been held for ``wait`` seconds with none taken or given
    back, the store is taken to stall, and callers are refused at once. A
    longer queue would hold its threads as surely as the store does.

    Waiting callers are served first come, first served: a slot given back
    goes to the longest waiting, not to whichever thread takes the lock
    first. Otherwise a thread that gives back a slot and asks for another
    at once (a confirm's second store call) could take it again, every
    time, from a caller that waits until its own deadline refuses it. The
    price: that second call joins the back of the line, so on a slow store
    a confirm half done can be refused while newer ones get slots."""

    def __init__(self, limit, wait=0):
        self.limit = limit
        self.wait = wait
        self.taken = 0
        self.moved_at = time.monotonic()  # when a slot was last taken or given back
        self._changed = threading.Condition(threading.Lock())
        self._waiting = collections.deque()  # of _Waiter, the longest waiting first

    def acquire(self, may_wait=lambda: True):
        """Whether a slot was free in time (and is now taken). ``may_wait()``
        is asked before each wait: whether the store still seems to answer."""
        with self._changed:
            if self.taken < self.limit and not self._waiting:
                self.taken += 1
                self.moved_at = time.monotonic()
                return True
            waiter = _Waiter()
            self._waiting.append(waiter)
            try:
                self._wait_for_slot(waiter, may_wait)
            except BaseException:
                if waiter.served:  # interrupted once handed a slot: the next gets it
                    self._give_back()
                raise
            finally:
                if not waiter.served:
                    self._waiting.remove(waiter)
            return waiter.served

    def _wait_for_slot(self, waiter, may_wait):
        deadline = time.monotonic() + self.wait
        while not waiter.served:
            now = time.monotonic()
            until = min(deadline, self.moved_at + self.wait)
            if now >= until or not may_wait():
                return
            self._changed.wait(until - now)

    def release(self):
        with self._changed:
            if self.taken <= 0:
                raise ValueError("Bulkhead released more times than acquired")
            self._give_back()

    def _give_back(self):
        if self._waiting:
            self._waiting.popleft().served = True  # the slot changes hands
        else:
            self.taken -= 1
        self.moved_at = time.monotonic()
        # Every waiter, not one: the served one returns, the others ask
        # may_wait() again, and leave at once if a call has just failed.
        self._changed.notify_all()


class _Waiter:
    """A caller in a bulkhead's line; ``served`` once a slot is handed to it."""

    __slots__ = ("served",)

    def __init__(self):
        self.served = False


class CircuitBreaker:
    """Closed while calls succeed; open for ``cooldown`` seconds once
    ``threshold`` calls in a row failed; then half-open: one trial call per
    ``cooldown``, whose outcome closes or opens it again."""

    def __init__(self, threshold, cooldown, clock=time.monotonic):
        self.threshold = threshold
        self.cooldown = cooldown
        self.clock = clock
        self.failures = 0
        self.opened_at = None  # None: closed
        self.trial_at = None
        self._lock = threading.Lock()

    @property
    def is_open(self):
        return self.opened_at is not None

    def allow(self):
        """``None`` if a call may go ahead, else the seconds to wait."""
        with self._lock:
            if self.opened_at is None:
                return None
            now = self.clock()
            wait = self.opened_at + self.cooldown - now
            if wait > 0:
                return wait
            if self.trial_at is not None and now - self.trial_at < self.cooldown:
                return self.cooldown  # another call is trying the store
            self.trial_at = now  # this call tries it
            return None

    def succeeded(self):
        with self._lock:
            was_open = self.opened_at is not None
            self.failures = 0
            self.opened_at = self.trial_at = None
        return was_open

    def failed(self):
        """Counts a failure; whether the circuit opened (again) because of it."""
        with self._lock:
            self.failures += 1
            if self.failures < self.threshold:
                return False
            self.opened_at = self.clock()
            self.trial_at = None
            return True


class StoreGuard:
    """The bulkhead and the circuit breaker of one store in this process."""

    def __init__(self, store, concurrency, failures, cooldown, wait=0):
        self.store = store
        self.bulkhead = Bulkhead(concurrency, wait)
        self.breaker = CircuitBreaker(failures, cooldown)

    def before_call(self, context):
        if not self.bulkhead.acquire(may_wait=self.answers):
            raise StoreBusy(
                limit=self.bulkhead.limit,
                store=self.store,
                retry_after=upload_settings.RETRY_AFTER,
            )
        wait = self.breaker.allow()
        if wait is not None:
            self.bulkhead.release()
            raise StoreCircuitOpen(
                failures=self.breaker.failures,
                store=self.store,
                retry_after=max(1, math.ceil(wait)),
            )
        context[GUARDED] = self

    def answers(self):
        """Whether the store seems to answer, so a call may wait for a
        slot: no call to it has failed since the last that succeeded.

        It reads the count without the breaker's lock, from inside the
        bulkhead's: reading one int is atomic, and a count a moment old
        only decides one more wait, which the next release asks again."""
        return self.breaker.failures == 0

    def call(self, send):
        """``send()``, a call that makes its own request rather than
        botocore's client (``S3Connection.store_call``), guarded as the
        client's are: refused with a ``StoreRefused``, a failure when it
        raises or its answer (``send()``'s first item) is a 5xx."""
        self.before_call({})
        failed = True
        try:
            result = send()
            failed = result[0].status_code >= 500
            return result
        finally:
            self.settle(failed)

    def settle(self, failed):
        # The outcome first: a caller the slot wakes asks the breaker.
        try:
            if not failed:
                if self.breaker.succeeded():
                    logger.warning("The store %s answers again: calls to it resume.", self.store)
            elif self.breaker.failed():
                logger.error(
                    "The store %s failed %d calls in a row: calls to it fail at once for %s s.",
                    self.store,
                    self.breaker.failures,
                    self.breaker.cooldown,
                )
        finally:
            self.bulkhead.release()


_guards = {}
_guards_lock = threading.Lock()


def store_guard(store):
    """This process's guard of the store at ``store`` (its endpoint URL)."""
    with _guards_lock:
        guard = _guards.get(store)
        if guard is None:
            guard = _guards[store] = StoreGuard(
                store,
                concurrency=upload_settings.STORE_CONCURRENCY,
                failures=upload_settings.STORE_FAILURES,
                cooldown=upload_settings.STORE_COOLDOWN,
                wait=upload_settings.STORE_WAIT,
            )
        return guard


def guard_client(client, store):
    """Guard every call ``client`` makes to the store at ``store``, with
    the guard of the moment (``reset_guards`` replaces them)."""
    events = client.meta.events
    events.register(
        "before-call.s3", functools.partial(before_call, store), unique_id=f"{GUARDED}.before"
    )
    events.register("after-call.s3", after_call, unique_id=f"{GUARDED}.after")
    events.register("after-call-error.s3", after_call_error, unique_id=f"{GUARDED}.error")
    return client


def before_call(store, context, **kwargs):
    store_guard(store).before_call(context)


def after_call(http_response, context, **kwargs):
    guard = context.pop(GUARDED, None)
    if guard is not None:
        guard.settle(failed=http_response.status_code >= 500)


def after_call_error(context, **kwargs):
    guard = context.pop(GUARDED, None)
    if guard is not None:
        guard.settle(failed=True)


def reset_guards(**kwargs):
    """Forget every guard: new sizes apply, and no circuit stays open."""
    with _guards_lock:
        _guards.clear()


def reset_guards_on_change(*, setting, **kwargs):
    if setting == "UPLOADS":
        reset_guards()


setting_changed.connect(reset_guards_on_change)
