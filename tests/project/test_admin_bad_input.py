"""A NUL in an admin URL's query string or path is a 400, on every admin
view of the project (``project.admin.ProjectAdminSite``), never a 500:
PostgreSQL refuses a NUL in a text parameter, and the admin passes a
changelist's query parameters (``?kind=``, ``?name=``, any text field of the
model), the autocomplete's ``term`` and the ids of its paths to the
database. SQLite takes the NUL; the answer is the same there, so the test
means something on either database."""

import html
import re
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client

from inventory.models import Product, User
from inventory.search import SEARCH_MAX_CHARACTERS, SEARCH_MAX_WORDS
from project.admin import ProjectAdminSite

pytestmark = pytest.mark.django_db

AUTOCOMPLETE = "/admin/autocomplete/?app_label=inventory&model_name=product"

NUL_URLS = [
    # uploads' admins, whose list filters are text fields
    "/admin/uploads/uploadticket/?kind=%00",
    "/admin/uploads/renditionset/?kind=%00",
    # inventory's, on any text field of the model
    "/admin/inventory/product/?name=%00",
    "/admin/inventory/user/?username=%00",
    "/admin/inventory/configuration/?q=%00",
    # Django's own admins, and the views of the site itself
    "/admin/auth/group/?name=%00",
    f"{AUTOCOMPLETE}&field_name=site_configuration&term=%00",
    # in a parameter's name
    "/admin/uploads/uploadticket/?%00=1",
]


@pytest.fixture
def root_client():
    root = User.objects.create_superuser("root", "root@example.com", "pw")
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(root)
    return client


def test_the_project_admin_site_is_the_default_one():
    assert isinstance(admin.site, ProjectAdminSite)


@pytest.mark.parametrize("url", NUL_URLS)
def test_a_nul_in_an_admin_query_string_is_a_bad_request(root_client, url):
    assert root_client.get(url).status_code == 400


def test_the_same_requests_without_the_nul_still_answer(root_client):
    for url in NUL_URLS[:-1]:
        assert root_client.get(url.replace("%00", "x")).status_code == 200, url


def nul_paths():
    """Admin URLs with a NUL in an id of their path: the admin's
    "view on site" redirect (``/admin/r/``) reads a row of any model, by
    its content type, with the id as it is; a session's is text."""
    from django.contrib.contenttypes.models import ContentType
    from django.contrib.sessions.models import Session

    sessions = ContentType.objects.get_for_model(Session).pk
    return [
        f"/admin/r/{sessions}/abc%00/",
        "/admin/inventory/product/1%00/change/",
        "/admin/uploads/uploadticket/%00/history/",
    ]


def test_a_nul_in_an_admin_urls_path_is_a_bad_request(root_client, sites):
    """Any staff member's request; on PostgreSQL it was a 500."""
    staff = User.objects.create_user("staff", password="pw", is_staff=True)
    staff_client = Client(raise_request_exception=False)
    staff_client.force_login(staff)
    for url in nul_paths():
        assert root_client.get(url).status_code == 400, url
        assert staff_client.get(url).status_code == 400, url
    # Without it, as before: no such row, or no page to send to.
    assert root_client.get(nul_paths()[0].replace("%00", "")).status_code == 404


# --- A search no person types ---------------------------------------------------

#: Searches of every kind of admin: the changelists' and the autocomplete's.
SEARCHES = [
    "/admin/inventory/product/?q=",
    "/admin/inventory/user/?q=",
    "/admin/uploads/uploadticket/?q=",
    "/admin/uploads/pendingdeletion/?q=",
    f"{AUTOCOMPLETE}&field_name=site_configuration&term=",
]


def searched(url, text):
    return url + urlencode({"x": text})[2:]


#: Searches past the limits (``inventory.search``): just past them, and the
#: attacks' sizes.
TOO_LONG = {
    "a word past": "x " * (SEARCH_MAX_WORDS + 1),
    "a character past": "a" * (SEARCH_MAX_CHARACTERS + 1),
    "a thousand words": "x " * 1001,
    "a word of 60,000 letters": "a" * 60000,
}


@pytest.mark.parametrize("url", SEARCHES)
@pytest.mark.parametrize("text", TOO_LONG.values(), ids=TOO_LONG.keys())
def test_a_search_no_person_types_is_a_bad_request(root_client, sites, url, text):
    """Each word is a condition on every search field: on SQLite, a
    thousand words nested the query past its depth (1,000), and a word of
    50,000 bytes was longer than its LIKE takes: 500s, for any staff member
    with a changelist or the autocomplete."""
    Product.objects.create(site_configuration=sites[0], name="Riz", cug="R1")
    assert root_client.get(searched(url, text)).status_code == 400


@pytest.mark.parametrize("url", SEARCHES)
def test_the_longest_search_a_person_types_still_runs(root_client, sites, url):
    """As many words as the limit, or a key of ``PendingDeletion`` pasted
    whole."""
    Product.objects.create(site_configuration=sites[0], name="Riz", cug="R1")
    for text in ["riz " * SEARCH_MAX_WORDS, "media/sites/1/products/" + "k" * 1000]:
        assert root_client.get(searched(url, text)).status_code == 200


def test_a_search_too_long_is_told_why_with_a_way_back(sites):
    """Staff read a changelist's count as the answer to what they typed:
    the admin refuses a search past the limits rather than run part of it,
    and says why, in their language and the admin's look (Django's own 400
    says "Bad Request" alone), with a link to the list and its filters
    without the search."""
    root = User.objects.create_superuser("root", "root@example.com", "pw")
    client = Client(raise_request_exception=False)  # French, the site's language
    client.force_login(root)
    url = f"/admin/inventory/product/?site_configuration__id__exact={sites[0].pk}&q="

    response = client.get(searched(url, "x " * (SEARCH_MAX_WORDS + 1)))

    assert response.status_code == 400
    page = response.content.decode()
    assert "Une recherche compte au plus 20 mots et 2\xa0000 caractères." in page
    assert 'id="header"' in page, "the admin's look"
    back = f"/admin/inventory/product/?site_configuration__id__exact={sites[0].pk}"
    assert f'href="{back}">Afficher la liste sans cette recherche</a>' in page
    assert client.get(back).status_code == 200


def test_the_way_back_from_a_search_too_long_keeps_the_query_as_text(root_client, sites):
    """The link back is built from the query string: whatever else it
    holds (markup, another address, a second search, a fragment) stays a
    parameter of the same page, escaped, and every search is dropped."""
    hostile = {
        "site_configuration__id__exact": f'{sites[0].pk}"><script>alert(1)</script>',
        "next": "//evil.example/",
        "_popup": "javascript:alert(1)#",
    }
    long_search = "x " * (SEARCH_MAX_WORDS + 1)
    query = urlencode([("q", "riz"), *hostile.items(), ("q", long_search)])

    response = root_client.get(f"/admin/inventory/product/?{query}")

    assert response.status_code == 400
    page = response.content.decode()
    back = re.search(r'<p><a href="([^"]*)">Show the list', page).group(1)
    assert html.unescape(back) == f"/admin/inventory/product/?{urlencode(hostile)}"
    assert "<script>alert" not in page


#: Every admin of the project with a search: the inventory's, the uploads',
#: Django's, and those of the packages.
SEARCHABLE = {
    model._meta.label: model_admin
    for model, model_admin in admin.site._registry.items()
    if model_admin.search_fields
}


@pytest.mark.parametrize("model_admin", SEARCHABLE.values(), ids=SEARCHABLE.keys())
def test_a_word_said_again_is_one_condition_in_every_admin(rf, model_admin):
    """Each word of an admin's search is a condition on every search field
    (a LIKE each): "e" twenty times, within the limits, was twenty times
    the same conditions, 48 ms a count against 3 ms for one "e" on
    PostgreSQL with 5,000 products. A word said again, in any case of its
    ASCII letters, quoted or not, is one condition, as in the products'
    search (``inventory.search.distinct_terms``)."""
    request = rf.get("/")
    fields = len(model_admin.search_fields)

    def conditions(text):
        queryset, _ = model_admin.get_search_results(
            request, model_admin.model._default_manager.all(), text
        )
        return str(queryset.query).count("LIKE")

    assert conditions(" ".join(["e", "E", '"e"', "'E'"] * 5)) == fields
    assert conditions("e f E") == 2 * fields


def test_the_admins_search_still_reads_quoted_phrases(root_client, sites):
    """Words said again are left out before Django's admin reads the
    search: what it finds is what it found, a quoted phrase one word (with
    its spaces, and quotes escaped inside it), and the box shows what was
    typed."""
    for name in ["Riz parfumé", "Parfumé au riz", 'Riz "extra" 25 kg', "Riz"]:
        Product.objects.create(site_configuration=sites[0], name=name, cug=name[:8])

    def found(text):
        response = root_client.get("/admin/inventory/product/", {"q": text})
        assert response.context["cl"].query == text
        return sorted(product.name for product in response.context["cl"].result_list)

    assert found('"riz parfumé" RIZ "Riz Parfumé"') == ["Riz parfumé"]
    assert found("riz parfumé riz") == ["Parfumé au riz", "Riz parfumé"]
    assert found(r'"riz \"extra\"" riz') == ['Riz "extra" 25 kg']
    assert found("'\"extra\" 25' 'riz'") == ['Riz "extra" 25 kg']


def test_a_search_that_minds_case_keeps_words_of_another_case(rf, db):
    """A search field named with a lookup that minds case (``exact``)
    tells "Riz" and "riz" apart: both stay conditions, as Django's admin
    made them (no name is both), while "Riz" said again is one."""
    site = ProjectAdminSite(name="case")
    site.register(Group, search_fields=["name__exact"])
    model_admin = site.get_model_admin(Group)
    Group.objects.create(name="Riz")

    def found(text):
        queryset, _ = model_admin.get_search_results(rf.get("/"), Group.objects.all(), text)
        return [group.name for group in queryset], str(queryset.query).count('"name" =')

    assert found("Riz riz") == ([], 2)
    assert found('Riz "Riz"') == (["Riz"], 1)


# --- An action's selected ids -------------------------------------------------

#: A changelist of each kind of key: integer (inventory's, Django's own) and
#: UUID (uploads' tickets), with an action each.
CHANGELISTS = {
    "product": ("/admin/inventory/product/", "delete_selected"),
    "site": ("/admin/inventory/configuration/", "delete_selected"),
    "user": ("/admin/inventory/user/", "delete_selected"),
    "group": ("/admin/auth/group/", "delete_selected"),
    "ticket": ("/admin/uploads/uploadticket/", "confirm_selected"),
}

NOT_AN_INTEGER_KEY = [
    "abc",
    "1e3",
    "1.0",
    "",
    "1\x00",
    # Beyond a 64-bit column: SQLite's driver cannot even send it.
    str(2**63),
    str(-(2**63) - 1),
    "9" * 40,
]
NOT_A_UUID = ["not-a-uuid", "1", "\x00", "0" * 31 + "\x00"]


def act_on(client, changelist, selected):
    url, action = CHANGELISTS[changelist]
    return client.post(url, {"action": action, "index": 0, "_selected_action": selected})


@pytest.mark.parametrize("changelist", ["product", "site", "user", "group"])
@pytest.mark.parametrize("value", NOT_AN_INTEGER_KEY)
def test_an_action_on_an_integer_key_that_is_none_is_a_bad_request(root_client, changelist, value):
    """The changelist filtered ``pk__in`` with it: a ``ValueError`` of the
    field, or SQLite's ``OverflowError``, answered 500."""
    assert act_on(root_client, changelist, ["1", value]).status_code == 400


@pytest.mark.parametrize("value", NOT_A_UUID)
def test_an_action_on_a_ticket_id_that_is_no_uuid_is_a_bad_request(root_client, value):
    assert act_on(root_client, "ticket", [value]).status_code == 400


def test_ids_that_could_be_keys_go_to_the_action(root_client, sites):
    """What the field reads (``" 1"`` is 1) is the action's, found or not:
    a row's id is listed for deletion, one of no row changes nothing."""
    from inventory.models import Product

    product = Product.objects.create(site_configuration=sites[0], name="Riz", cug="R-1")
    listed = act_on(root_client, "product", [f" {product.pk}"])
    assert listed.status_code == 200 and b"R-1" in listed.content
    for value in ["-1", str(2**63 - 1), "0"]:
        assert act_on(root_client, "product", [value]).status_code in (200, 302), value
    missing = "00000000-0000-0000-0000-000000000000"
    assert act_on(root_client, "ticket", [missing]).status_code == 302
    assert Product.objects.filter(pk=product.pk).exists()


def test_an_anonymous_action_is_sent_to_the_login_page_whatever_it_selects():
    anonymous = Client(raise_request_exception=False)
    response = act_on(anonymous, "product", ["abc"])
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


# --- A changelist's lookups ---------------------------------------------------

BEYOND_64_BITS = str(2**63)

#: Lookups of a changelist's query string that the database failed on, a
#: 500 on either database: ``range`` (the admin passes its one string: its
#: characters became the bounds), a regular expression the database cannot
#: parse, a year no date holds; on SQLite, a JSONField's ``contains``
#: (containment, not Django's ``contains``).
UNUSABLE_LOOKUPS = [
    "/admin/inventory/product/?name__range=a,b",
    "/admin/inventory/product/?quantity__range=1",
    "/admin/inventory/configuration/?site_name__range=",
    "/admin/uploads/uploadticket/?status__range=ab,cd",
    "/admin/inventory/product/?name__regex=(",
    "/admin/inventory/product/?price__gt=1e99999999",
    "/admin/inventory/product/?price=-1e99999999",
    "/admin/inventory/product/?price__in=1,1e-99999999",
    "/admin/inventory/user/?username__iregex=[",
    f"/admin/inventory/product/?created_at__year={BEYOND_64_BITS}",
    "/admin/inventory/product/?created_at__year__gt=99999999999",
    "/admin/uploads/renditionset/?variants__contains=a",
]


@pytest.mark.parametrize("url", UNUSABLE_LOOKUPS)
def test_a_lookup_the_database_cannot_run_is_a_bad_request(root_client, url):
    assert root_client.get(url).status_code == 400


def test_a_site_admin_gets_the_same_answer(sites):
    """Any staff who may see a changelist reached it, not only superusers."""
    boss = User.objects.create_user(
        "boss", password="pw", site_configuration=sites[0], is_site_admin=True, is_staff=True
    )
    client = Client(raise_request_exception=False)
    client.force_login(boss)
    for url in UNUSABLE_LOOKUPS[:2]:
        assert client.get(url).status_code == 400, url
    assert client.get("/admin/inventory/product/?name=Riz").status_code == 200


#: What the admin's filters send, and what a person types, filters as before.
USABLE_LOOKUPS = [
    "/admin/inventory/product/?site_configuration__id__exact=1",
    f"/admin/inventory/product/?site_configuration__id__exact={2**63 - 1}",
    "/admin/inventory/product/?site_configuration__isnull=True",
    "/admin/inventory/product/?name=Riz&cug__startswith=R",
    "/admin/inventory/product/?quantity__gte=1&quantity__in=1,2",
    "/admin/inventory/product/?price__gte=1500.50&price__in=1,2.5",
    "/admin/inventory/user/?groups__id__exact=1&is_staff__exact=1",
    "/admin/uploads/uploadticket/?status=issued&kind__exact=product&site=1",
    "/admin/inventory/product/?q=9999999999999999999999&o=1&p=1",
    "/admin/uploads/renditionset/?variants__icontains=webp",
]


@pytest.mark.parametrize("url", USABLE_LOOKUPS)
def test_the_lookups_of_the_admins_filters_still_filter(root_client, sites, url):
    assert root_client.get(url).status_code == 200


#: An integer beyond 64 bits compared with a relation or in a list, which
#: SQLite failed on (a 500) and PostgreSQL compared as ``numeric`` (a scan
#: of the table): it names no row (``project.lookups``), on every app's
#: changelist; below the range, ``gt`` holds for every row.
BEYOND_THE_RANGE = [
    f"/admin/inventory/product/?site_configuration={BEYOND_64_BITS}",
    f"/admin/inventory/product/?site_configuration__id__in={BEYOND_64_BITS}",
    f"/admin/inventory/product/?quantity__in={BEYOND_64_BITS}",
    f"/admin/inventory/user/?groups={BEYOND_64_BITS}",
    f"/admin/inventory/user/?user_permissions__lte={BEYOND_64_BITS}",
    f"/admin/uploads/uploadticket/?user={BEYOND_64_BITS}",
    f"/admin/uploads/uploadticket/?object_id__in={BEYOND_64_BITS}",
    f"/admin/auth/group/?permissions={BEYOND_64_BITS}",
]


@pytest.fixture
def rows(sites):
    """A row in each changelist whose filters are tried, so that "no row"
    means something."""
    from django.contrib.auth.models import Group, Permission

    from inventory.models import Product

    Product.objects.create(site_configuration=sites[0], name="Riz", cug="R-1", quantity=3)
    Group.objects.create(name="caisse").permissions.add(Permission.objects.first())


def result_count(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.context["cl"].result_count


@pytest.mark.parametrize("url", BEYOND_THE_RANGE)
def test_an_integer_beyond_the_range_names_no_row(root_client, rows, url):
    assert result_count(root_client, url) == 0


def test_below_the_range_gt_holds_for_every_row(root_client, rows):
    changelist = "/admin/inventory/product/"
    every = result_count(root_client, changelist)
    assert every == 1
    assert (
        result_count(root_client, f"{changelist}?site_configuration__gt=-{BEYOND_64_BITS}0")
        == every
    )


@pytest.fixture
def product_dates(monkeypatch):
    """The product changelist with a ``date_hierarchy``, as any admin may
    have one."""
    from inventory.models import Product

    monkeypatch.setattr(admin.site._registry[Product], "date_hierarchy", "created_at")


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("created_at__year=2026&created_at__month=11", 200),
        (f"created_at__year={BEYOND_64_BITS}", 400),  # Django's OverflowError
        ("created_at__year=2026&created_at__month=99999", 400),
        ("created_at__year=2026&created_at__month=13", 302),  # the admin's "?e=1"
        ("created_at__year=9998&created_at__month=12&created_at__day=31", 200),
        ("created_at__year=9999", 400),  # Django's ValueError: no year 10000
        ("created_at__year=9999&created_at__month=12", 400),  # its OverflowError
        ("created_at__year=%C2%B2", 400),  # a digit that is no decimal one
    ],
)
def test_the_date_hierarchy_reads_its_own_parameters(root_client, product_dates, query, status):
    assert root_client.get(f"/admin/inventory/product/?{query}").status_code == status


@pytest.mark.parametrize(
    "query", ["quantity=abc", f"quantity={BEYOND_64_BITS}x", "name__nosuchlookup=1"]
)
def test_what_the_admin_refuses_itself_is_still_its_error_page(root_client, query):
    """A value the field cannot read, a lookup it has not: the admin's own
    "?e=1" redirect, as before."""
    response = root_client.get(f"/admin/inventory/product/?{query}")
    assert response.status_code == 302 and response["Location"].endswith("?e=1")


def test_a_form_choosing_an_id_beyond_the_range_says_it_is_no_choice(root_client):
    """A multiple choice field reads its choices with ``pk__in``, which
    SQLite failed on: the admin's form shows its error instead."""
    response = root_client.post(
        "/admin/auth/group/add/", {"name": "caisse", "permissions": [BEYOND_64_BITS]}
    )
    assert response.status_code == 200
    assert BEYOND_64_BITS in response.context["adminform"].form.errors["permissions"][0]
