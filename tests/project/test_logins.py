"""Password guessing: every login path (API token, login page, admin) locks
a username out after repeated failures, whatever address the guesses claim
to come from, across app instances, with a message that says when to retry;
and lets the user in again after the cool-off."""

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.management import call_command
from django.db import connection, connections
from django.db.models import F, Sum
from django.test import Client

from inventory.logins import client_address
from tests.support import processes
from tests.support.processes import CLEAN, PRODUCTION

LIMIT = 3


def login_rate(settings, rate):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "login": rate,
        },
    }


@pytest.fixture(autouse=True)
def limit(settings):
    """The lockout after LIMIT failures; LOGIN_RATE's throttle, which
    answers 429 before it on the token endpoint, out of the way."""
    settings.AXES_FAILURE_LIMIT = LIMIT
    login_rate(settings, "1000/min")


def token(client, username, password, **headers):
    return client.post(
        "/api/auth/token/",
        {"username": username, "password": password},
        content_type="application/json",
        headers=headers,
    )


def page_login(client, username, password, **headers):
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, headers=headers
    )


def admin_login(client, username, password, **headers):
    return client.post(
        "/admin/login/", {"username": username, "password": password}, headers=headers
    )


PATHS = [token, page_login, admin_login]


def logged_in(login, response):
    if login is token:
        return response.status_code == 200 and "token" in response.json()
    return response.status_code == 302  # to the home page or the admin's


def locked_message(login, response):
    """The lockout's message, checked to be the path's own kind of answer."""
    assert response.status_code == 429, response.content[:300]
    assert int(response["Retry-After"]) > 0
    if login is token:
        body = response.json()
        assert body["code"] == "login_locked"
        return body["detail"]
    assert response["Content-Type"].startswith("text/html")
    return response.content.decode()


@pytest.mark.parametrize("login", PATHS)
def test_rotating_x_forwarded_for_gains_nothing(client, make_user, login):
    make_user("staff", is_staff=True)
    answers = [
        login(client, "staff", f"guess-{n}", x_forwarded_for=f"203.0.113.{n}").status_code
        for n in range(LIMIT + 15)
    ]
    right = login(client, "staff", "pw", x_forwarded_for="198.51.100.7")

    assert answers[LIMIT - 1 :] == [429] * 16
    assert not logged_in(login, right)
    locked_message(login, right)


def test_rotating_x_forwarded_for_does_not_reset_the_token_throttle(client, make_user, settings):
    """The issue's case: after LOGIN_RATE's 429, each guess with another
    X-Forwarded-For answered 400 again."""
    settings.AXES_FAILURE_LIMIT = 100
    login_rate(settings, "3/min")
    make_user("staff")
    answers = [
        token(client, "staff", f"guess-{n}", x_forwarded_for=f"203.0.113.{n}").status_code
        for n in range(18)
    ]
    assert answers == [400] * 3 + [429] * 15


def test_the_token_throttle_says_when_to_retry_after_its_rate_was_lowered(
    client, make_user, settings
):
    """Three guesses recorded at 3 a minute, then the rate lowered to 2:
    DRF's wait() gave None there, a 429 without Retry-After."""
    settings.AXES_FAILURE_LIMIT = 100
    login_rate(settings, "3/min")
    make_user("staff")
    assert [token(client, "staff", "guess").status_code for _ in range(3)] == [400] * 3
    login_rate(settings, "2/min")
    response = token(client, "staff", "guess")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60


def test_the_client_address_is_the_one_the_trusted_proxies_saw(rf, settings):
    spoofed = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 198.51.100.7"}
    assert client_address(rf.get("/", **spoofed)) == "10.0.0.2"  # DJANGO_NUM_PROXIES=0
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    assert client_address(rf.get("/", **spoofed)) == "198.51.100.7"


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Too many failed logins for this account. Try again in 15 minutes."),
        ("fr", "Trop de connexions échouées pour ce compte. Réessayez dans 15 minutes."),
    ],
)
@pytest.mark.parametrize("login", PATHS)
def test_lockout_says_when_to_retry_in_the_users_language(
    client, make_user, login, language, message
):
    make_user("staff", is_staff=True)
    for n in range(LIMIT):
        response = login(client, "staff", f"guess-{n}", accept_language=language)
    assert message in locked_message(login, response)

    right = login(client, "staff", "pw", accept_language=language)
    assert not logged_in(login, right)
    assert message in locked_message(login, right)


@pytest.mark.parametrize("login", PATHS)
def test_lockout_of_one_username_leaves_others_alone(client, make_user, login):
    make_user("staff", is_staff=True)
    make_user("other", is_staff=True)
    for n in range(LIMIT):
        login(client, "staff", f"guess-{n}")
    assert logged_in(login, login(client, "other", "pw"))


@pytest.mark.parametrize("login", PATHS)
def test_the_right_password_logs_in_after_the_cool_off(client, make_user, login, settings):
    make_user("staff", is_staff=True)
    for n in range(LIMIT):
        login(client, "staff", f"guess-{n}")
    assert not logged_in(login, login(client, "staff", "pw"))

    # The cool-off goes by.
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - settings.AXES_COOLOFF_TIME)
    assert logged_in(login, login(client, "staff", "pw"))


@pytest.mark.parametrize("login", PATHS)
def test_a_username_longer_than_any_accounts_is_refused_as_a_wrong_one(client, make_user, login):
    """axes recorded its failure in a column of 255 characters: PostgreSQL
    refused it, a 500 on every path for anyone. No account has such a
    name: nothing to check or count, the answer to unknown credentials."""
    make_user("staff", is_staff=True)
    for length in (256, 10_000):
        response = login(client, "x" * length, "guess")
        assert response.status_code == (400 if login is token else 200), response.content[:300]
        assert not logged_in(login, response)
    assert not AccessAttempt.objects.exists()
    # A name an account could have is counted as before.
    login(client, "x" * 150, "guess")
    assert AccessAttempt.objects.filter(username="x" * 150).exists()


def test_the_token_endpoint_documents_the_lockout(client):
    schema = client.get("/api/schema/?format=json").json()
    locked = schema["paths"]["/api/auth/token/"]["post"]["responses"]["429"]
    examples = locked["content"]["application/json"]["examples"]
    assert {example["value"]["code"] for example in examples.values()} == {
        "login_locked",
        "login_in_progress",
        "throttled",
    }


def test_seed_demo_unlocks_the_demo_logins(client, db):
    """`make run`'s printed logins work, whatever wrong passwords (a
    developer's, a test's against the dev server) came before."""
    call_command("seed_demo", stdout=io.StringIO())
    for n in range(LIMIT):
        token(client, "dakar-staff", f"guess-{n}")
    assert token(client, "dakar-staff", "demo1234").status_code == 429

    call_command("seed_demo", stdout=io.StringIO())
    assert token(client, "dakar-staff", "demo1234").status_code == 200


@pytest.mark.process
def test_lockout_counts_across_app_instances(tmp_path):
    """Two processes sharing the database (no Redis): guesses made through
    one lock the username out in the other, right password included."""
    env = {
        **CLEAN,
        "DJANGO_ENV_FILE": str(tmp_path / "absent.env"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_SECRET_KEY": PRODUCTION["DJANGO_SECRET_KEY"],
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "LOGIN_FAILURE_LIMIT": "2",
    }

    manage = partial(processes.manage, env)

    def instance(password):
        script = (
            "from django.test import Client; "
            "r = Client().post('/api/auth/token/', {'username': 'staff', 'password': "
            f"{password!r}}}, content_type='application/json'); print(r.status_code, r.json())"
        )
        return manage("shell", "-c", script).strip().splitlines()[-1]

    manage("migrate", "-v", "0")
    manage(
        "shell",
        "-c",
        "from inventory.models import User; User.objects.create_user('staff', password='pw')",
    )
    assert instance("guess-1").startswith("400")
    assert instance("guess-2").startswith("429")
    locked = instance("pw")
    assert locked.startswith("429") and "login_locked" in locked


def test_a_burst_of_guesses_passes_the_token_throttle_no_more_than_its_rate(
    redis_url, settings, rf
):
    """Guesses sent at once on a shared Redis: DRF's throttle reads the
    history, then writes it, so every guess that read it before the others
    wrote went through. The login throttle counts in one atomic step, as
    the ticket throttle does (``uploads.api.throttles``)."""
    from inventory.throttles import LoginThrottle

    settings.CACHES = {"default": {"BACKEND": "project.cache.RedisCache", "LOCATION": redis_url}}
    login_rate(settings, "3/min")
    guesses = 24
    barrier = threading.Barrier(guesses)

    def guess(n):
        request = rf.post("/api/auth/token/")
        request.data = {"username": "staff", "password": f"guess-{n}"}
        barrier.wait(timeout=10)
        return LoginThrottle().allow_request(request, None)

    with ThreadPoolExecutor(guesses) as pool:
        allowed = list(pool.map(guess, range(guesses)))

    assert allowed.count(True) == 3


# --- Logins one at a time per username (inventory.logins.authenticate) -----

postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrent logins need PostgreSQL's advisory locks (DATABASE_URL)",
)
# The threads' connections see only what is committed.
committed = pytest.mark.django_db(transaction=True)

IN_PROGRESS = {
    "en": "Another login to this account is in progress. Try again in a moment.",
    "fr": "Une autre connexion à ce compte est en cours. Réessayez dans un instant.",
}


class Checks:
    """What CountingHasher sees and does: how many passwords it checked, and
    how long a wrong one's check takes."""

    def __init__(self):
        self.count = 0
        self.counting = threading.Lock()
        self.wrong_started = threading.Event()  # a wrong password is being checked
        self.gate = threading.Event()  # a wrong password's check waits for it
        self.gate.set()
        self.delay = 0.0

    def checked(self, right):
        with self.counting:
            self.count += 1
        if not right:
            self.wrong_started.set()
            self.gate.wait(timeout=20)
            time.sleep(self.delay)


CHECKS = Checks()


class CountingHasher(MD5PasswordHasher):
    """The suite's MD5 (tests/conftest.py), counting the password checks."""

    def verify(self, password, encoded):
        right = super().verify(password, encoded)
        CHECKS.checked(right)
        return right


@pytest.fixture
def checks(settings, monkeypatch):
    monkeypatch.setattr(f"{__name__}.CHECKS", Checks())
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    yield CHECKS
    CHECKS.gate.set()  # no thread left waiting


class BarrierEvent:
    """A barrier waited on as an event: every thread goes at once."""

    def __init__(self, barrier):
        self.barrier = barrier

    def wait(self, timeout):
        self.barrier.wait(timeout=timeout)
        return True


def in_thread(pool, login, password, language="en", after=None):
    """``login`` from a thread of ``pool``, with its own client and database
    connection; after the event ``after``, if given."""

    def send():
        try:
            if after is not None:
                assert after.wait(timeout=20)
            return login(Client(), "staff", password, accept_language=language)
        finally:
            connections.close_all()

    return pool.submit(send)


def answer(login, response):
    """What a login's answer said: "in progress", "locked", "wrong" or "in"."""
    if logged_in(login, response):
        return "in"
    if response.status_code == 429:
        if login is token and response.json()["code"] == "login_in_progress":
            assert response["Retry-After"] == "1"
            return "in progress"
        locked_message(login, response)
        return "locked"
    content = response.content.decode()
    if any(message in content for message in IN_PROGRESS.values()):
        assert response.status_code == 200  # the login form, with its error
        return "in progress"
    assert response.status_code in (200, 400), content[:300]
    return "wrong"


@postgresql
@committed
@pytest.mark.parametrize("login", PATHS)
def test_a_burst_of_guesses_gets_no_more_password_checks_than_the_limit(checks, make_user, login):
    """The review's case, against django-axes' issue #592: it checks the
    lockout before the password and records the failure after, so guesses
    sent at once were all checked, and the right password sent while they
    were (a limit of 3 gave a token in 2 runs of 3). One guess short of the
    limit, a burst of guesses and the right password sent as the first is
    checked: one more check, then the lockout."""
    make_user("staff", is_staff=True)
    client = Client()
    for n in range(LIMIT - 1):
        assert answer(login, login(client, "staff", f"guess-{n}", accept_language="en")) == "wrong"
    checks.wrong_started.clear()
    checks.delay = 0.3  # PBKDF2's time, about, in which the guesses raced

    guesses = 12
    with ThreadPoolExecutor(guesses + 1) as pool:
        barrier = threading.Barrier(guesses)
        sent = [
            in_thread(pool, login, f"burst-{n}", after=BarrierEvent(barrier))
            for n in range(guesses)
        ]
        right = in_thread(pool, login, "pw", after=checks.wrong_started)
        answers = [answer(login, future.result()) for future in sent]
        right_answer = answer(login, right.result())

    assert checks.count <= LIMIT, (answers, right_answer)
    assert right_answer in ("locked", "in progress")
    assert set(answers) <= {"locked", "in progress"}
    failures = AccessAttempt.objects.aggregate(total=Sum("failures_since_start"))["total"]
    assert failures == LIMIT
    assert answer(login, login(client, "staff", "pw", accept_language="en")) == "locked"


def while_a_guess_is_checked(checks, login, username, password, *, let_go_after=None, **headers):
    """``login`` as ``username`` with ``password``, sent while a wrong guess
    for "staff" is being checked in another thread, which goes on once it is
    answered (or after ``let_go_after`` seconds): its answer and the seconds
    it took. The guess is answered "wrong"."""
    checks.gate.clear()  # the guess is checked until told
    with ThreadPoolExecutor(1) as pool:
        first = in_thread(pool, login, "guess")
        assert checks.wrong_started.wait(timeout=20)
        if let_go_after is not None:
            threading.Timer(let_go_after, checks.gate.set).start()
        started = time.monotonic()
        try:
            response = login(Client(), username, password, **headers)
        finally:
            checks.gate.set()
        waited = time.monotonic() - started
        assert answer(login, first.result()) == "wrong"
    return response, waited


@postgresql
@committed
@pytest.mark.parametrize("login", PATHS)
def test_a_login_waits_for_another_to_the_same_username_then_goes_on(checks, make_user, login):
    """A double tap on a slow phone, or a login sent again after a timeout:
    the second waits for the first's check, then is checked itself, rather
    than refused while the first is at work."""
    make_user("staff", is_staff=True)
    second, waited = while_a_guess_is_checked(checks, login, "staff", "pw", let_go_after=0.3)

    assert answer(login, second) == "in"
    assert waited >= 0.25, "checked after the first, not beside it"
    assert checks.count == 2


@postgresql
@committed
@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("login", PATHS)
def test_a_login_still_waiting_for_another_after_the_bound_is_refused(
    checks, make_user, login, language, monkeypatch
):
    monkeypatch.setattr("inventory.logins.LOGIN_LOCK_WAIT", 0.5)
    make_user("staff", is_staff=True)
    second, waited = while_a_guess_is_checked(
        checks, login, "staff", "pw", accept_language=language
    )

    assert answer(login, second) == "in progress"
    assert 0.5 <= waited < 5, "refused once the bound is over, not queued for as long as it takes"
    if login is token:
        assert second.json()["detail"] == IN_PROGRESS[language]
    else:
        assert IN_PROGRESS[language] in second.content.decode()
    assert checks.count == 1
    # Refused before axes saw it: only the first counts as a failure.
    assert AccessAttempt.objects.get().failures_since_start == 1
    assert answer(login, login(Client(), "staff", "pw")) == "in"


@postgresql
@committed
@pytest.mark.parametrize("login", PATHS)
def test_a_login_finding_no_place_to_wait_is_refused_at_once(checks, make_user, login, monkeypatch):
    """A burst at one username holds no more of a process's threads than its
    places to wait: the others are refused without waiting."""
    places = threading.BoundedSemaphore(1)
    monkeypatch.setattr("inventory.logins.WAITING_LOGINS", places)
    monkeypatch.setattr("inventory.logins.LOGIN_LOCK_WAIT", 10)
    make_user("staff", is_staff=True)
    assert places.acquire(blocking=False)  # another login waits already
    second, waited = while_a_guess_is_checked(checks, login, "staff", "pw")
    places.release()

    assert answer(login, second) == "in progress"
    assert waited < 5, "refused at once, not after the 10 s wait"


@postgresql
@committed
@pytest.mark.parametrize("login", PATHS)
def test_a_login_in_progress_leaves_other_usernames_alone(checks, make_user, login):
    make_user("staff", is_staff=True)
    make_user("other", is_staff=True)
    other, _ = while_a_guess_is_checked(checks, login, "other", "pw")
    assert logged_in(login, other)
