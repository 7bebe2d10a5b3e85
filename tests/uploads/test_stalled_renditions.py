"""A task worker killed while it makes an image's renditions (SIGKILL, out
of memory, a container restarted): the task backend never runs that task
again, and the image's set stayed pending for good, shown as being made.
``purge_uploads``, hourly, queues the making again once the set has been
left alone for ``UPLOADS["RENDITION_LEASE"]``, and fails it after
``RENDITION_MAX_STARTS`` makings that stopped the worker."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation
from django_tasks_db.models import DBTaskResult

from inventory.models import Product
from tests.support.clock import shifted
from tests.support.images import jpeg, truncated
from tests.support.stores import LocalStore
from tests.support.tickets import confirm, issue
from uploads import deletions, renditions
from uploads.keys import media_key
from uploads.models import RenditionSet
from uploads.targets import get_target

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.renditions]

# UPLOADS["RENDITION_LEASE"] by default, and a minute more.
AFTER_THE_LEASE = 3600 + 60


class Killed(BaseException):
    """The worker's death in the middle of a making: nothing of the making
    runs after it, as after a SIGKILL (``except Exception`` does not catch
    it, and the worker only records its task failed, which a SIGKILL
    leaves running)."""

    @classmethod
    def raise_it(cls, *args, **kwargs):
        """In place of a function the death happens in."""
        raise cls


@pytest.fixture
def store(local_media):
    """What the store holds does not matter here: the filesystem's."""
    return LocalStore(local_media)


def attach(store, api, product, body=None):
    body = body or jpeg()
    ticket = issue(api, product, body)
    assert store.post(ticket["upload"], body) in (200, 201, 204)
    response = confirm(api, ticket)
    assert response.status_code == 200, response.json()
    return response.json()["key"].removeprefix("media/")


def attach_and_die(store, api, product, task_worker, monkeypatch):
    """Confirm a photo, and have the worker die in the middle of making its
    renditions: the set pending, one making started and never ended."""
    name = attach(store, api, product)
    die_in_the_next_makings(task_worker, monkeypatch)
    made = RenditionSet.objects.get(original=name)
    assert (made.state, made.unfinished_makings) == ("pending", 1)
    return name


def die_in_the_next_makings(task_worker, monkeypatch):
    """Run the worker over the tasks queued, each making dying once it has
    read the original, as it decodes it (where a worker runs out of
    memory)."""

    def killed(*args, **kwargs):
        raise Killed

    with monkeypatch.context() as dying:
        dying.setattr(renditions, "render", killed)
        task_worker()


def purge(seconds_later=AFTER_THE_LEASE, *args):
    """``purge_uploads`` run ``seconds_later``, as ``run`` says."""
    with shifted(seconds_later):
        return run("purge_uploads", *args)


def run(command, *args):
    """``command`` run; its stdout and stderr, and its CommandError's
    message if it failed."""
    out, err = StringIO(), StringIO()
    try:
        call_command(command, *args, stdout=out, stderr=err)
        failure = ""
    except CommandError as error:
        failure = str(error)
    return out.getvalue(), err.getvalue(), failure


def queued_makings():
    return DBTaskResult.objects.filter(
        task_path="uploads.tasks.make_renditions", status="READY"
    ).count()


def test_a_making_the_worker_died_in_is_queued_again_after_the_lease_and_made(
    store, api, product, task_worker, monkeypatch
):
    name = attach_and_die(store, api, product, task_worker, monkeypatch)

    out, err, failure = purge()

    assert (
        "Queued the renditions of 1 image(s) again, left pending with no making started "
        "for 60 min: a worker stopped in the middle of 1 of them." in out
    )
    assert f"Queued again: {name} (1 making(s) stopped)" in out
    assert not err and not failure
    assert queued_makings() == 1
    task_worker()
    made = RenditionSet.objects.get(original=name)
    assert made.is_ready
    assert {media_key(variant["name"]) for variant in made.variants.values()} == set(
        store.rendition_keys()
    )
    assert api.get(f"/api/products/{product.pk}/").json()["image_state"] == "ready"
    assert "Queued" not in purge(2 * AFTER_THE_LEASE)[0], "made: nothing more to queue"


def test_an_image_that_stops_the_worker_each_time_ends_failed_after_three_makings(
    store, api, product, task_worker, monkeypatch
):
    name = attach_and_die(store, api, product, task_worker, monkeypatch)
    for makings in (1, 2):
        out, _, failure = purge()
        assert f"Queued again: {name} ({makings} making(s) stopped)" in out
        assert not failure
        die_in_the_next_makings(task_worker, monkeypatch)

    out, err, failure = purge()

    assert "Queued" not in out and queued_makings() == 0
    assert (
        f"Renditions given up: {name}: 3 makings in a row stopped the worker (out of "
        "memory?), failed as interrupted." in err
    )
    assert failure == (
        "1 image(s) stopped the task worker each time their renditions were made "
        "(see the README: Renditions)."
    )
    made = RenditionSet.objects.get(original=name)
    assert (made.state, made.error_code, made.variants) == ("failed", "interrupted", {})
    with translation.override("en"):
        assert made.get_error_code_display() == "its making stopped the worker each time"
    with translation.override("fr"):
        assert made.get_error_code_display() == (
            "sa préparation a arrêté le processus des tâches à chaque essai"
        )
    assert api.get(f"/api/products/{product.pk}/").json()["image_state"] == "failed"
    out, err, failure = purge(2 * AFTER_THE_LEASE)
    assert "Queued" not in out and not err and not failure, "given up once"


def test_a_set_within_the_lease_is_left_alone(store, api, product, task_worker, monkeypatch):
    """A making that started less than the lease ago may be under way (a
    large image, a busy worker): queued again, it would be made twice."""
    name = attach_and_die(store, api, product, task_worker, monkeypatch)

    out, err, failure = purge(3600 - 60)

    assert "Queued" not in out and not err and not failure
    assert queued_makings() == 0
    made = RenditionSet.objects.get(original=name)
    assert (made.state, made.unfinished_makings) == ("pending", 1)


def test_a_set_whose_making_is_under_way_is_not_queued_twice(
    store, api, product, task_worker, monkeypatch
):
    """A set pending for hours (the worker was down: its making waited in
    the queue) whose making has just started when the command runs: it is
    under way, and a second one would make the set twice."""
    with shifted(-2 * AFTER_THE_LEASE):
        name = attach(store, api, product)
        with monkeypatch.context() as worker_down:
            # The task makes the set; its making is queued, not run yet.
            worker_down.setattr(renditions, "make", lambda *args, **kwargs: None)
            task_worker()
    assert RenditionSet.objects.get(original=name).unfinished_makings == 0
    render = renditions.render
    during = []

    def purge_meanwhile(*args, **kwargs):
        during.append(purge(0))
        return render(*args, **kwargs)

    monkeypatch.setattr(renditions, "render", purge_meanwhile)

    assert renditions.make(name) == "ready"

    ((out, err, failure),) = during
    assert "Queued" not in out and not err and not failure
    assert queued_makings() == 0


def fail_to_read(name):
    raise OSError("the store does not answer")


def test_a_set_the_store_failed_is_queued_again_and_made_once_it_answers(
    store, api, product, task_worker, monkeypatch, settings
):
    """The worker tries a set whose store fails 5 times, then leaves it
    pending (it was left for ``build_renditions``, by hand): no making
    died, so it is queued again each run until it is made."""
    settings.UPLOADS = {**settings.UPLOADS, "DELETE_RETRY_DELAY": 0}
    name = attach(store, api, product)
    with monkeypatch.context() as store_down:
        store_down.setattr(renditions, "read_original", fail_to_read)
        for _ in range(renditions.ATTEMPTS):
            task_worker()
    made = RenditionSet.objects.get(original=name)
    assert (made.state, made.unfinished_makings, queued_makings()) == ("pending", 0, 0)

    out, err, failure = purge()

    assert (
        "Queued the renditions of 1 image(s) again, left pending with no making started "
        "for 60 min." in out
    )
    assert f"Queued again: {name} (0 making(s) stopped)" in out
    task_worker()
    assert RenditionSet.objects.get(original=name).is_ready


def test_a_dry_run_says_what_it_would_queue_and_give_up_and_does_neither(
    store, api, product, site, task_worker, monkeypatch
):
    from inventory.models import Product

    dying = attach_and_die(store, api, product, task_worker, monkeypatch)
    other = Product.objects.create(site_configuration=site, name="Sel", cug="S-1")
    hopeless = attach(store, api, other)
    die_in_the_next_makings(task_worker, monkeypatch)
    RenditionSet.objects.filter(original=hopeless).update(unfinished_makings=3)

    out, err, failure = purge(AFTER_THE_LEASE, "--dry-run")

    assert "Would queue the renditions of 1 image(s) again" in out
    assert f"Queued again: {dying} (1 making(s) stopped)" in out
    assert f"Renditions would be given up: {hopeless}: 3 makings in a row" in err
    assert failure.startswith("1 image(s) stopped the task worker")
    assert queued_makings() == 0
    assert set(RenditionSet.objects.values_list("state", flat=True)) == {"pending"}


def test_a_making_costs_the_queries_it_cost_before_it_was_counted(
    store, api, product, django_assert_num_queries
):
    """Counting the making that starts replaces the read of the set (one
    UPDATE ... RETURNING), and counting it back down is part of the write
    of its outcome: the set's UPDATE ... RETURNING, then its outcome's
    transaction (BEGIN, the set locked, its UPDATE, COMMIT), as before."""
    name = attach(store, api, product)
    renditions.reset(name, "product")

    with django_assert_num_queries(5):
        assert renditions.make(name) == "ready"

    assert RenditionSet.objects.get(original=name).unfinished_makings == 0


def test_the_set_is_pending_before_the_task_deletes_what_the_confirm_left(
    store, api, product, task_worker, monkeypatch
):
    """The task deletes what the confirm left (the upload, a replaced image:
    store calls, seconds on a slow store) before it makes the renditions. A
    worker killed there left no set at all, which nothing finds: the image
    read as pending for good. Its set, pending, is there already."""
    sets_while_deleting = []
    delete_recorded = deletions.delete_recorded

    def note_the_sets(*args, **kwargs):
        sets_while_deleting.append(list(RenditionSet.objects.values_list("original", "state")))
        return delete_recorded(*args, **kwargs)

    monkeypatch.setattr(deletions, "delete_recorded", note_the_sets)
    name = attach(store, api, product)
    task_worker()

    assert sets_while_deleting == [[(name, "pending")]]
    assert RenditionSet.objects.get(original=name).is_ready


def given_up(store, api, product, task_worker, monkeypatch):
    """An image whose makings stopped the worker each time: its set failed,
    ``interrupted``, by ``purge_uploads``."""
    name = attach_and_die(store, api, product, task_worker, monkeypatch)
    RenditionSet.objects.filter(original=name).update(unfinished_makings=3)
    assert f"Renditions given up: {name}" in purge()[1]
    return name


def undecodable(store, api, product, task_worker):
    """An image that does not decode: its set failed, ``undecodable``."""
    name = attach(store, api, product, truncated(jpeg((300, 200))))
    task_worker()
    return RenditionSet.objects.get(original=name, state="failed", error_code="undecodable")


def test_build_renditions_failed_with_codes_remakes_only_the_sets_failed_so(
    store, api, product, site, task_worker, monkeypatch
):
    """The worker's memory raised, and the pixel limit: ``--failed
    interrupted too_large`` makes the images that failed for want of them,
    and leaves alone one that does not decode, which no such change mends.
    Only ``--all`` did, remaking every image of every site."""
    broken = undecodable(
        store,
        api,
        Product.objects.create(site_configuration=site, name="Sel", cug="S-1"),
        task_worker,
    )
    large = attach(
        store, api, Product.objects.create(site_configuration=site, name="Mil", cug="M-1")
    )
    with monkeypatch.context() as lower_limit:
        lower_limit.setattr(get_target("product"), "max_pixels", 100)
        task_worker()
    assert RenditionSet.objects.get(original=large).error_code == "too_large"
    interrupted = given_up(store, api, product, task_worker, monkeypatch)

    out, err, failure = run("build_renditions", "--failed", "interrupted", "too_large")

    assert out == "2 image(s): 2 ready, 0 failed, 0 left pending.\n"
    assert "2/2 image(s)" in err and not failure
    for name in (interrupted, large):
        made = RenditionSet.objects.get(original=name)
        assert (made.state, made.error_code, made.unfinished_makings) == ("ready", "", 0)
    assert api.get(f"/api/products/{product.pk}/").json()["image_state"] == "ready"
    assert RenditionSet.objects.get(pk=broken.pk).updated_at == broken.updated_at, "left alone"
    assert run("build_renditions", "--failed", "interrupted") == (
        "0 image(s): 0 ready, 0 failed, 0 left pending.\n",
        "",
        "",
    )


def test_build_renditions_killed_on_an_image_given_up_hands_it_back_failed(
    store, api, product, task_worker, monkeypatch
):
    """``--failed interrupted`` once the worker has more memory, run with
    the worker's memory, killed in the middle of the image that stopped the
    worker three times: it still does not fit. ``purge_uploads`` fails it
    again at once, rather than queue it to a worker that dies on it twice
    more (the command reset its count), and as often as the operator runs
    the command again."""
    name = given_up(store, api, product, task_worker, monkeypatch)
    monkeypatch.setattr(renditions, "render", Killed.raise_it)

    with pytest.raises(Killed):
        run("build_renditions", "--failed", "interrupted")
    out, err, failure = purge()

    assert "Queued" not in out and queued_makings() == 0
    assert f"Renditions given up: {name}: 4 makings in a row" in err
    assert failure.startswith("1 image(s) stopped the task worker")
    made = RenditionSet.objects.get(original=name)
    assert (made.state, made.error_code) == ("failed", "interrupted")


def test_build_renditions_the_store_fails_in_ends_the_row_of_those_that_died(
    store, api, product, task_worker, monkeypatch
):
    """``--failed interrupted`` on an image given up, once the worker has
    more memory, while the store does not answer: the making ended (the
    store failed, nothing died), so the set left pending is queued again to
    the worker by the next ``purge_uploads``, not failed again as if three
    makings had stopped the worker (``reset`` keeps the count of those
    that died: ``end`` ends the row as ``finish`` does)."""
    name = given_up(store, api, product, task_worker, monkeypatch)
    monkeypatch.setattr(renditions, "read_original", fail_to_read)

    run("build_renditions", "--failed", "interrupted")
    assert RenditionSet.objects.get(original=name).state == "pending"
    out, err, failure = purge(2 * AFTER_THE_LEASE)

    assert f"Queued again: {name} (0 making(s) stopped)" in out
    assert not err and not failure


def test_a_making_that_ends_ends_the_row_of_those_that_died(
    store, api, product, task_worker, monkeypatch
):
    """Two makings died, the third made the set: the next time it is made
    (``build_renditions --all``, a change of sizes), one more death is
    the first in a row, queued again, not the third, given up."""
    name = attach_and_die(store, api, product, task_worker, monkeypatch)
    purge()
    die_in_the_next_makings(task_worker, monkeypatch)
    purge()
    task_worker()
    assert RenditionSet.objects.get(original=name).unfinished_makings == 0
    monkeypatch.setattr(renditions, "render", Killed.raise_it)

    with pytest.raises(Killed):
        run("build_renditions", "--all")
    out, err, failure = purge()

    assert f"Queued again: {name} (1 making(s) stopped)" in out
    assert not err and not failure


def test_build_renditions_failed_says_which_fail_again_and_exits_non_zero(
    store, api, product, site, task_worker, monkeypatch
):
    """``--failed`` alone takes every code: an image that still does not
    decode fails again, which the command lists and exits non-zero for,
    since what it was asked to mend is not mended."""
    broken = undecodable(
        store,
        api,
        Product.objects.create(site_configuration=site, name="Sel", cug="S-1"),
        task_worker,
    )
    interrupted = given_up(store, api, product, task_worker, monkeypatch)

    out, err, failure = run("build_renditions", "--failed")

    assert out == "2 image(s): 1 ready, 1 failed (1 undecodable), 0 left pending.\n"
    assert f"Failed again: {broken.original}: undecodable (does not decode)" in err
    assert interrupted not in err
    assert failure == (
        "1 image(s) failed again (1 undecodable): what failed them is still there "
        "(see the README: Renditions)."
    )
    assert RenditionSet.objects.get(original=interrupted).is_ready


def test_build_renditions_failed_names_the_first_that_fail_again_and_counts_the_rest(
    store, api, site, task_worker, monkeypatch
):
    monkeypatch.setattr("uploads.management.listing.LISTED", 1)
    for cug in ("S-1", "S-2"):
        product = Product.objects.create(site_configuration=site, name="Sel", cug=cug)
        undecodable(store, api, product, task_worker)

    out, err, failure = run("build_renditions", "--failed")

    assert len([line for line in err.splitlines() if line.startswith("Failed again: ")]) == 1
    assert "... and 1 more." in err.splitlines()
    assert failure.startswith("2 image(s) failed again (2 undecodable)")


@pytest.mark.parametrize(
    "args, refusal",
    [
        (["--failed", "--all"], "argument --all: not allowed with argument --failed"),
        (["--missing", "--failed", "interrupted"], "not allowed with argument --missing"),
        (["--failed", "oom"], "argument --failed: invalid choice: 'oom'"),
    ],
)
def test_build_renditions_takes_one_selection_and_known_codes(args, refusal):
    with pytest.raises(CommandError, match=refusal):
        call_command("build_renditions", *args, stdout=StringIO(), stderr=StringIO())
