"""
The OpenAPI documentation of the products, site and token endpoints: an
example for every request and answer, and the errors each may give.
Generated clients (Kotlin, Swift) and /api/docs/ show these.
"""

from django.utils.functional import lazy
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers

from inventory.logins import LoginInProgress, lockout_message
from inventory.models import CUG_TAKEN
from inventory.search import SEARCH_MAX_CHARACTERS, SEARCH_MAX_WORDS, SEARCH_TOO_LONG_MESSAGE
from inventory.serializers import ProductSerializer, SiteSerializer, ViewedImageSerializer
from project.api import schema


class EveryFieldAnswered(OpenApiSerializerExtension):
    """A product's and a site's answers hold every field, those a request
    may leave out included (a product's ``price`` and ``quantity``, a
    site's ``address``...): the row always has them. drf-spectacular marks
    an answer's field required only if the request must send it, and
    generated clients then read ``price`` as optional (``price: String?``
    in Kotlin and Swift) for nothing."""

    target_class = ViewedImageSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        mapped = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction == "response":
            mapped["required"] = sorted(mapped["properties"])
        return mapped


SITE_PARAMETER = OpenApiParameter(
    "site",
    OpenApiTypes.INT,
    description="Superusers only: the site to act on.",
)

PRODUCT = {
    "id": 42,
    "name": "Riz parfumé 25 kg",
    "cug": "RIZ-25",
    "price": "18500.00",
    "quantity": 12,
    "thumbnail_url": "https://media.example.com/inventory-media/media/sites/1/products/"
    "renditions/2b9d0c4e8f1a4b6c9e3d5f7a1c2b4d6e-thumb.webp?X-Amz-Date=20261124T090000Z&"
    "X-Amz-Signature=...",
    "image_url": "https://media.example.com/inventory-media/media/sites/1/products/"
    "renditions/2b9d0c4e8f1a4b6c9e3d5f7a1c2b4d6e-display.webp?X-Amz-Date=20261124T090000Z&"
    "X-Amz-Signature=...",
    "image_state": "ready",
    "original_url": None,
    "created_at": "2026-11-02T08:15:00Z",
    "updated_at": "2026-11-24T09:31:12Z",
}
# The same product while its renditions are being made, when its photo
# could not be decoded, and as its site's admins get it.
PRODUCT_STATES = {
    "Photo being made": PRODUCT
    | {"thumbnail_url": None, "image_url": None, "image_state": "pending"},
    "Photo refused": PRODUCT | {"thumbnail_url": None, "image_url": None, "image_state": "failed"},
    "As a site admin sees it": PRODUCT
    | {
        "original_url": "https://media.example.com/inventory-media/media/sites/1/products/"
        "2b9d0c4e8f1a4b6c9e3d5f7a1c2b4d6e.jpg?X-Amz-Date=20261124T090000Z&X-Amz-Signature=..."
    },
}
PRODUCT_REQUEST = {
    "name": "Riz parfumé 25 kg",
    "cug": "RIZ-25",
    "price": "18500.00",
    "quantity": 12,
}
SITE = {
    "id": 1,
    "site_name": "Boutique Dakar Plateau",
    "address": "12 avenue Léopold Sédar Senghor",
    "city": "Dakar",
    "country": "Sénégal",
    "phone": "+221 33 800 00 00",
    "email": "plateau@example.com",
    "currency": "XOF",
    "logo_thumbnail_url": None,
    "logo_url": None,
    "logo_state": "pending",
    "logo_original_url": None,
}

PAGE = {
    "count": 57,
    "next": "https://shop.example.com/api/products/?page=3&search=riz",
    "previous": "https://shop.example.com/api/products/?search=riz",
}

# What every site-scoped operation may answer besides its own errors.
SCOPE_ERRORS = {
    400: schema.error_response(
        "`invalid`: `errors` says which fields and why (for a superuser: `site` missing or "
        "not a number).",
        schema.error_example("invalid", errors={"cug": [CUG_TAKEN]}),
    ),
    401: schema.NOT_AUTHENTICATED,
    403: schema.permission_denied("the account is not attached to a site."),
    404: schema.error_response(
        "`not_found`: no such product or site, or another site's.", "not_found"
    ),
}


def site_scoped(
    operation_id,
    *,
    description,
    parameters=(),
    request=None,
    response=None,
    status=200,
    serializer=None,
    errors=None,
    other_responses=None,
):
    """The documentation of one site-scoped operation: ``description`` is
    what client developers read (their generated clients' doc comments),
    written here so that no docstring for maintainers reaches them;
    ``request`` and ``response`` are example bodies, ``other_responses``
    more answers by title; ``status`` is the success status.

    ``operation_id`` is written out, not derived from the URL and the
    action: generated clients name their methods after it, so moving a
    route must not rename them."""
    examples = []
    if request is not None:
        examples.append(OpenApiExample("Request", request_only=True, value=request))
    answers = {"Answer": response} if response is not None else {}
    for title, value in (answers | (other_responses or {})).items():
        examples.append(
            OpenApiExample(title, response_only=True, status_codes=[str(status)], value=value)
        )
    return extend_schema(
        operation_id=operation_id,
        description=description,
        parameters=[*parameters, SITE_PARAMETER],
        examples=examples,
        responses={status: serializer, **SCOPE_ERRORS, **(errors or {})},
    )


def refused(action):
    """The 403 of an operation that ``inventory.permissions`` may refuse."""
    return {
        403: schema.permission_denied(
            f"the account may not {action} products (the README's permissions table), "
            "or is not attached to a site."
        )
    }


# What the operations say of the photo and the logo: never sent here.
PHOTO_BY_TICKET = (
    "Its photo changes only through an upload ticket of kind `product` "
    "(`POST /api/uploads/tickets/`)."
)
LOGO_BY_TICKET = (
    "The logo changes only through an upload ticket of kind `logo` (`POST /api/uploads/tickets/`)."
)
SEARCH_PARAMETER = OpenApiParameter(
    "search",
    # The characters as the schema's own limit, which generated clients may
    # check; the words only in the description.
    {"type": "string", "maxLength": SEARCH_MAX_CHARACTERS},
    description="Words that must each appear in the product's name or CUG, in any case; "
    'words are apart by spaces or commas, and "quoted words" are one. At most '
    f"{SEARCH_MAX_WORDS} words and {SEARCH_MAX_CHARACTERS:,} characters: a longer search "
    "is refused (`400 invalid`, under `errors.search`), not searched in part.",
)
# The list's 400: the site's, and a search too long.
SEARCH_ERRORS = {
    400: schema.error_response(
        "`invalid`: `errors` says which parameters and why: `search` of more than "
        f"{SEARCH_MAX_WORDS} words or {SEARCH_MAX_CHARACTERS:,} characters; for a superuser, "
        "`site` missing or not a number.",
        schema.error_example("invalid", errors={"search": [SEARCH_TOO_LONG_MESSAGE]}),
    )
}
# The list's 404: the site's, and a page past the last.
PAGE_ERRORS = {
    404: schema.error_response(
        "`not_found`: `page` past the last page (or not a number); for a superuser, "
        "no site of that `site`.",
        "not_found",
    )
}

PRODUCTS = {
    "list": site_scoped(
        "products_list",
        description="The site's products by name, a page at a time (20 unless `page_size` "
        "says otherwise, at most 100).",
        parameters=[SEARCH_PARAMETER],
        serializer=ProductSerializer(many=True),
        response=PRODUCT,  # one item: the paginator wraps it in PAGE
        errors={**SEARCH_ERRORS, **refused("see"), **PAGE_ERRORS},
    ),
    "create": site_scoped(
        "products_create",
        description="Add a product to the site. To give it a photo, ask for an upload "
        "ticket of kind `product` with the new product's `id` as `object_id`.",
        request=PRODUCT_REQUEST,
        response=PRODUCT,
        status=201,
        serializer=ProductSerializer,
        errors=refused("add"),
    ),
    "retrieve": site_scoped(
        "products_retrieve",
        description="One product of the site.",
        response=PRODUCT,
        other_responses=PRODUCT_STATES,
        serializer=ProductSerializer,
        errors=refused("see"),
    ),
    "update": site_scoped(
        "products_update",
        description=f"Replace a product's details. {PHOTO_BY_TICKET}",
        request=PRODUCT_REQUEST,
        response=PRODUCT,
        serializer=ProductSerializer,
        errors=refused("change"),
    ),
    "partial_update": site_scoped(
        "products_partial_update",
        description=f"Change some of a product's details. {PHOTO_BY_TICKET}",
        request={"quantity": 11},
        response=PRODUCT,
        serializer=ProductSerializer,
        errors=refused("change"),
    ),
    "destroy": site_scoped(
        "products_destroy",
        description="Delete a product, and its photo with it.",
        status=204,
        errors=refused("delete"),
    ),
}

SITE_CHANGE = {"phone": "+221 33 800 00 01", "address": "14 rue Carnot"}
SITE_ADMINS_ONLY = {
    403: schema.permission_denied(
        "the account may not change the site's settings (or no site is attached)."
    )
}
SITES = {
    "get": site_scoped(
        "site_retrieve",
        description="The site the user works for: its details, and its logo's renditions.",
        response=SITE,
        serializer=SiteSerializer,
    ),
    "put": site_scoped(
        "site_update",
        description=f"Replace the site's details (site admins and superusers). {LOGO_BY_TICKET}",
        request={k: v for k, v in SITE.items() if k != "id" and not k.startswith("logo_")}
        | SITE_CHANGE,
        response=SITE | SITE_CHANGE,
        serializer=SiteSerializer,
        errors=SITE_ADMINS_ONLY,
    ),
    "patch": site_scoped(
        "site_partial_update",
        description="Change some of the site's details (site admins and superusers). "
        f"{LOGO_BY_TICKET}",
        request=SITE_CHANGE,
        response=SITE | SITE_CHANGE,
        serializer=SiteSerializer,
        errors=SITE_ADMINS_ONLY,
    ),
}


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`.")


TOKEN = extend_schema(
    operation_id="auth_token_create",
    description="The account's API token, for its username and password: send it on every "
    "other call as `Authorization: Token <token>`. The token does not expire: every login "
    "gets the same one, until an administrator revokes it. After too many failed logins "
    "the username is locked for a while (`login_locked`), even with the right password.",
    # No credentials: this is how a client gets them.
    auth=[],
    request=LoginSerializer,
    responses={
        200: TokenSerializer,
        400: schema.error_response(
            "`invalid`: wrong username or password, or a field missing.",
            schema.error_example(
                "invalid",
                errors={"non_field_errors": ["Unable to log in with provided credentials."]},
            ),
        ),
        429: schema.error_response(
            "`login_locked`: too many failed logins for this username, from any "
            "address; wait `Retry-After` seconds (the right password is refused "
            "meanwhile). `login_in_progress`: another login for this username is "
            "being checked (logins are checked one at a time per username); "
            "retry after `Retry-After` seconds (1). `throttled`: too many "
            "requests for this username from this address; wait `Retry-After` "
            "seconds.",
            schema.error_example("login_locked", lazy(lockout_message, str)(900)),
            schema.error_example("login_in_progress", LoginInProgress.default_detail),
            "throttled",
        ),
    },
    examples=[
        OpenApiExample(
            "Log in", request_only=True, value={"username": "dakar-staff", "password": "…"}
        ),
        OpenApiExample(
            "A token",
            response_only=True,
            value={"token": "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"},
        ),
    ],
)
