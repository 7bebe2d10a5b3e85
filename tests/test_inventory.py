"""The demo data, the home page and the admin, each scoped to one site."""

from django.core.management import call_command

from inventory.models import Configuration, Product, User


def test_seed_demo_is_idempotent_and_prints_logins(db, capsys):
    call_command("seed_demo")
    first = capsys.readouterr().out
    counts = (Configuration.objects.count(), Product.objects.count(), User.objects.count())
    call_command("seed_demo")

    assert (Configuration.objects.count(), Product.objects.count(), User.objects.count()) == counts
    assert counts[0] == 2 and counts[1] >= 4
    for username in ("admin", "dakar-admin", "dakar-staff", "abidjan-admin", "abidjan-staff"):
        assert username in first
    assert User.objects.get(username="admin").is_superuser
    dakar_admin = User.objects.get(username="dakar-admin")
    assert dakar_admin.is_site_admin
    assert dakar_admin.site_configuration.site_name == "Boutique Dakar"
    assert not User.objects.get(username="dakar-staff").is_site_admin
    assert dakar_admin.check_password("demo1234")


def test_home_requires_login(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_home_lists_only_the_users_site(client, sites, make_user):
    one, two = sites
    Product.objects.create(site_configuration=one, name="Mil de Thiès", cug="A")
    Product.objects.create(site_configuration=two, name="Igname de Bouaké", cug="B")
    client.force_login(make_user("alice", one))

    page = client.get("/").content.decode()

    assert "Mil de Thiès" in page
    assert "Igname de Bouaké" not in page


def test_admin_shows_staff_only_their_site(client, db):
    call_command("seed_demo")
    client.login(username="dakar-staff", password="demo1234")

    page = client.get("/admin/inventory/product/").content.decode()

    assert "Riz parfumé" in page
    assert "Attiéké" not in page
    other = Product.objects.get(cug="ABJ-001")
    assert client.get(f"/admin/inventory/product/{other.pk}/change/").status_code == 302


def test_admin_saves_new_products_in_the_staff_site(client, db):
    call_command("seed_demo")
    client.login(username="abidjan-staff", password="demo1234")

    response = client.post(
        "/admin/inventory/product/add/",
        {"name": "Banane plantain", "cug": "ABJ-9", "price": "500", "quantity": "3"},
    )

    assert response.status_code == 302
    product = Product.objects.get(cug="ABJ-9")
    assert product.site_configuration.site_name == "Boutique Abidjan"


def test_only_site_admins_change_their_site(client, db):
    call_command("seed_demo")
    dakar = Configuration.objects.get(site_name="Boutique Dakar")
    abidjan = Configuration.objects.get(site_name="Boutique Abidjan")

    client.login(username="dakar-admin", password="demo1234")
    assert client.get(f"/admin/inventory/configuration/{dakar.pk}/change/").status_code == 200
    assert client.get(f"/admin/inventory/configuration/{abidjan.pk}/change/").status_code == 302

    client.login(username="dakar-staff", password="demo1234")
    assert client.get(f"/admin/inventory/configuration/{dakar.pk}/change/").status_code == 403
