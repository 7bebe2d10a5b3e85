"""
Demo data for development: two shops, their staff and a few products.

Idempotent: running it again updates the same rows and resets the demo
passwords, so ``make run`` can call it every time.
"""

from decimal import Decimal

from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand
from django.db import transaction

from inventory.models import Configuration, Product, User

STAFF_PERMISSIONS = ["view_product", "add_product", "change_product"]
SITE_ADMIN_PERMISSIONS = [
    *STAFF_PERMISSIONS,
    "delete_product",
    "view_configuration",
    "change_configuration",
]

SITES = [
    {
        "site_name": "Boutique Dakar",
        "slug": "dakar",
        "city": "Dakar",
        "country": "Sénégal",
        "phone": "+221 33 000 00 00",
        "products": [
            ("Riz parfumé 25 kg", "DKR-001", "15000", 40),
            ("Huile d'arachide 5 L", "DKR-002", "6500", 25),
            ("Sucre en morceaux 1 kg", "DKR-003", "900", 120),
        ],
    },
    {
        "site_name": "Boutique Abidjan",
        "slug": "abidjan",
        "city": "Abidjan",
        "country": "Côte d'Ivoire",
        "phone": "+225 27 00 00 00 00",
        "products": [
            ("Attiéké 1 kg", "ABJ-001", "1000", 60),
            ("Cacao en poudre 500 g", "ABJ-002", "2500", 30),
        ],
    },
]


class Command(BaseCommand):
    help = "Create or refresh the demo sites, users and products."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            default="demo1234",
            help="Password given to every demo user (default: %(default)s).",
        )

    @transaction.atomic
    def handle(self, *args, password, **options):
        logins = [self.ensure_user("admin", password, superuser=True)]
        for spec in SITES:
            site, _ = Configuration.objects.update_or_create(
                site_name=spec["site_name"],
                defaults={
                    "city": spec["city"],
                    "country": spec["country"],
                    "phone": spec["phone"],
                    "currency": "XOF",
                },
            )
            for name, cug, price, quantity in spec["products"]:
                Product.objects.update_or_create(
                    site_configuration=site,
                    cug=cug,
                    defaults={"name": name, "price": Decimal(price), "quantity": quantity},
                )
            logins.append(
                self.ensure_user(f"{spec['slug']}-admin", password, site=site, site_admin=True)
            )
            logins.append(self.ensure_user(f"{spec['slug']}-staff", password, site=site))

        self.stdout.write(self.style.SUCCESS("Demo data ready. Logins:"))
        for user in logins:
            if user.is_superuser:
                role = "superuser, all sites"
            else:
                role = "site admin" if user.is_site_admin else "staff"
                role = f"{role}, {user.site_configuration}"
            self.stdout.write(f"  {user.username:<15} {password}   ({role})")

    def ensure_user(self, username, password, site=None, site_admin=False, superuser=False):
        user, _ = User.objects.get_or_create(username=username)
        user.site_configuration = site
        user.is_site_admin = site_admin
        user.is_superuser = superuser
        # Staff status lets site admins and staff into the Django admin, where
        # they see only their own site.
        user.is_staff = True
        user.set_password(password)
        user.save()
        if not superuser:
            codenames = SITE_ADMIN_PERMISSIONS if site_admin else STAFF_PERMISSIONS
            user.user_permissions.set(
                Permission.objects.filter(
                    content_type__app_label="inventory", codename__in=codenames
                )
            )
        return user
