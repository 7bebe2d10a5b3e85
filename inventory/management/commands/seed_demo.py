"""
Demo data for development: two shops, their staff and a few products, with
a logo for each shop and a photo on most products.

Idempotent: running it again updates the same rows and resets the demo
passwords, so ``make run`` can call it every time. The pictures are drawn
here and attached the way clients attach theirs (ticket, POST to the store,
confirm), in the storage mode of the settings it runs with. A picture
already in the store is kept: a second run uploads nothing.
"""

from decimal import Decimal
from functools import partial

from axes.utils import reset as axes_reset
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from inventory.demo_images import product_image, site_logo
from inventory.models import Configuration, Product, User
from inventory.permissions import STAFF_PERMISSIONS, permissions_named
from uploads.backends import get_backend
from uploads.errors import UploadError
from uploads.keys import media_key
from uploads.uploader import UploadRefused, upload

SITES = [
    {
        "site_name": "Boutique Dakar",
        "slug": "dakar",
        "city": "Dakar",
        "country": "Sénégal",
        "phone": "+221 33 000 00 00",
        # Name, CUG, price, quantity, and the shape on its photo: none for
        # one product, to show a product without one and to try the picker on.
        "products": [
            ("Riz parfumé 25 kg", "DKR-001", "15000", 40, "sack"),
            ("Huile d'arachide 5 L", "DKR-002", "6500", 25, "bottle"),
            ("Sucre en morceaux 1 kg", "DKR-003", "900", 120, None),
        ],
    },
    {
        "site_name": "Boutique Abidjan",
        "slug": "abidjan",
        "city": "Abidjan",
        "country": "Côte d'Ivoire",
        "phone": "+225 27 00 00 00 00",
        "products": [
            ("Attiéké 1 kg", "ABJ-001", "1000", 60, "bowl"),
            ("Cacao en poudre 500 g", "ABJ-002", "2500", 30, "tin"),
        ],
    },
]


class Command(BaseCommand):
    help = "Create or refresh the demo sites, users and products, with their pictures."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            default="demo1234",
            help="Password given to every demo user (default: %(default)s).",
        )

    def handle(self, *args, password, **options):
        with transaction.atomic():
            logins = self.seed_rows(password)
        # Each upload commits on its own: an object in the store is never
        # left behind by a rollback of the rows that point to it.
        uploaded, kept = self.attach_pictures()

        self.stdout.write(f"Demo pictures: {uploaded} uploaded, {kept} already in the store.")
        self.stdout.write(self.style.SUCCESS("Demo data ready. Logins:"))
        for user in logins:
            if user.is_superuser:
                role = "superuser, all sites"
            else:
                role = "site admin" if user.is_site_admin else "staff"
                role = f"{role}, {user.site_configuration}"
            self.stdout.write(f"  {user.username:<15} {password}   ({role})")

    def seed_rows(self, password):
        logins = [self.ensure_user("admin", password, superuser=True)]
        for spec in SITES:
            # The demo site is its admin's: names are labels, which another
            # shop may bear too.
            site, _ = Configuration.objects.update_or_create(
                pk=demo_site_id(spec),
                defaults={
                    "site_name": spec["site_name"],
                    "city": spec["city"],
                    "country": spec["country"],
                    "phone": spec["phone"],
                    "currency": "XOF",
                },
            )
            for name, cug, price, quantity, _shape in spec["products"]:
                Product.objects.update_or_create(
                    site_configuration=site,
                    cug=cug,
                    defaults={"name": name, "price": Decimal(price), "quantity": quantity},
                )
            logins.append(
                self.ensure_user(f"{spec['slug']}-admin", password, site=site, site_admin=True)
            )
            logins.append(self.ensure_user(f"{spec['slug']}-staff", password, site=site))
        return logins

    def attach_pictures(self):
        """Each site's logo and product photos, uploaded by the site's
        admin; how many were uploaded and how many were there already."""
        results = []
        for spec in SITES:
            admin = User.objects.get(username=f"{spec['slug']}-admin")
            site = admin.site_configuration
            results.append(
                self.ensure_picture(
                    admin,
                    "logo",
                    site,
                    site.logo,
                    ("logo.png", "image/png"),
                    partial(site_logo, site.site_name),
                )
            )
            for name, cug, _price, _quantity, shape in spec["products"]:
                if shape is None:
                    continue
                product = site.products.get(cug=cug)
                results.append(
                    self.ensure_picture(
                        admin,
                        "product",
                        product,
                        product.image,
                        (f"{cug}.jpg", "image/jpeg"),
                        partial(product_image, name, cug, shape),
                    )
                )
        return results.count(True), results.count(False)

    def ensure_picture(self, user, kind, obj, current, file_type, draw):
        """Upload ``draw()`` to ``obj`` unless its picture is in the store;
        whether it uploaded. ``file_type`` is ``(file name, content type)``."""
        filename, content_type = file_type
        try:
            if current and get_backend().exists(media_key(current.name)):
                return False
            upload(
                user,
                kind=kind,
                object_id=obj.pk,
                body=draw(),
                content_type=content_type,
                filename=filename,
            )
        except (UploadError, UploadRefused, OSError) as error:
            raise CommandError(f"Could not attach a picture to {obj}: {error}") from error
        return True

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
        # The printed logins work now, even after wrong passwords (a
        # mistyped demo login, or a test of the lockout) locked them out.
        axes_reset(username=username)
        # Staff are given the usual staff permissions; site admins hold theirs
        # by their role (inventory.permissions).
        given = [] if superuser or site_admin else STAFF_PERMISSIONS
        user.user_permissions.set(permissions_named(given))
        return user


def demo_site_id(spec):
    """The id of the site of ``spec``'s admin, once seeded; else None."""
    admin = User.objects.filter(username=f"{spec['slug']}-admin").first()
    return admin.site_configuration_id if admin else None
