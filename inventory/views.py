"""The shop staff's pages: products and site settings, always of one site,
the one ``inventory.sites.acting_site`` decides: the user's own, or the one a
superuser chose. Images never pass through these views: the pages' image
picker uploads them straight to storage (frontend_snippets)."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from inventory import images, sites
from inventory.forms import ProductForm, SiteChoiceForm, SiteSettingsForm
from inventory.models import Configuration, Product
from inventory.permissions import (
    ADD,
    CHANGE,
    REFUSALS,
    SITE_REFUSAL,
    VIEW,
    can_act_on_products,
    can_manage_site,
)
from inventory.querysets import search_too_long

PAGE_SIZE = 20

# The methods of a page with a form; a list or a status is read only
# (``require_safe``). Any other method is a 405 naming those it takes, not
# the form rendered again as if read.
require_form_methods = require_http_methods(["GET", "HEAD", "POST"])


def signed_in(view):
    """``login_required``, but a signed-out request asking for JSON (the
    image picker's save, a placeholder asking for its renditions, once the
    session has ended) gets a JSON 401 rather than the redirect to the
    login page, which ``fetch`` follows to an HTML 200 that the scripts
    cannot read: the picker's tap was lost in silence, a placeholder
    downloaded the login page for ten minutes. The picker then sends the
    form itself, and the user is asked to log in."""
    login_view = login_required(view)

    @wraps(view)
    def page(request, *args, **kwargs):
        if not request.user.is_authenticated and wants_json(request):
            detail = _("Your session has ended. Log in again.")
            return JsonResponse({"code": "not_authenticated", "detail": detail}, status=401)
        return login_view(request, *args, **kwargs)

    return page


def site_page(view):
    """A page of one site, which the view receives as ``site``.

    A superuser's ``?site=`` names it for this page (and the page names it
    in its links, ``sites.page_url``), the session's choice otherwise; a
    superuser who has chosen no site yet is shown the sites to choose
    from, then comes back here; a user attached to no site is told so.
    """

    @signed_in
    @wraps(view)
    def page(request, *args, **kwargs):
        try:
            site = sites.acting_site(request)
        except ValidationError:
            raise Http404(_("No such site.")) from None
        if site is None:
            if request.user.is_superuser:
                return site_chooser(request, next_url=request.get_full_path())
            return render(request, "inventory/no_site.html", status=404)
        return view(request, site, *args, **kwargs)

    return page


def site_chooser(request, next_url):
    return render(
        request,
        "inventory/choose_site.html",
        {"sites": Configuration.objects.visible_to(request.user), "next": next_url},
    )


def picker_messages():
    """What the image picker says, in the user's language."""
    return {
        "pending": _("The photo will be uploaded when you save the product."),
        "saving": _("Saving the product…"),
        # The save met no network, or its answer was lost: saving again is
        # safe, the server knows the form's product (Product.save_key).
        "save_lost": _(
            "The product could not be saved: the connection was lost. "
            "Check your network and save again; the photo is kept."
        ),
        # The product's save was refused (its errors are on the form).
        "not_saved": _(
            "The product was not saved: correct the form and save again. "
            "The photo is kept and will be uploaded then."
        ),
        # "Save" tapped while the photo goes up: the page sent then would
        # stop the upload, so the form waits for it.
        "save_waits": _("The product will be saved once the photo is uploaded."),
        "save_stopped": _(
            "The product was not saved. Try the photo again, or save again without it."
        ),
        "preparing": _("Preparing the photo…"),
        "uploading": _("Uploading…"),
        "confirming": _("Checking the photo…"),
        "done": _("Photo saved."),
        "cancelled": _("Upload cancelled."),
        "wrong_type": _("Choose a JPEG, PNG or WebP photo."),
        # The phone lost the network: the upload goes on once it is back.
        "offline": _("No network: the upload will resume as soon as it is back."),
        "network_error": _("The connection was lost. Check your network and try again."),
        "upload_refused": _("Storage refused the file. Try again with another photo."),
        # The ticket expired again after the module renewed it twice (the
        # store then says "Policy expired", in English): a slow link.
        "expired": _("The upload took too long and expired. Check your connection and try again."),
        "failed": _("The upload failed. Try again."),
    }


def wants_json(request):
    return "application/json" in request.headers.get("Accept", "")


@require_safe
@site_page
def product_list(request, site):
    if not can_act_on_products(request.user, VIEW):
        raise PermissionDenied(REFUSALS[VIEW])
    products = Product.objects.visible_to(request.user, site)
    query = request.GET.get("q", "").strip()
    products = products.search(query)
    page = Paginator(products, PAGE_SIZE).get_page(request.GET.get("page"))
    viewer = images.ImageViewer(request.user)
    viewer.prefetch(product.image for product in page)
    return render(
        request,
        "inventory/product_list.html",
        {
            "site": site,
            "page": page,
            "rows": [(product, images.product_image(viewer, product)) for product in page],
            "query": query,
            "search_shortened": search_too_long(query),
            "can_add": can_act_on_products(request.user, ADD),
        },
    )


@require_form_methods
@site_page
def product_edit(request, site, pk=None):
    if pk is not None:
        product = get_object_or_404(Product.objects.visible_to(request.user, site), pk=pk)
    else:
        product = Product(site_configuration=site)
    # Those who may only see products get the page read-only.
    saving = CHANGE if pk is not None else ADD
    can_save = can_act_on_products(request.user, saving, product)
    if not can_save and (request.method == "POST" or pk is None):
        raise PermissionDenied(REFUSALS[saving])
    if not can_act_on_products(request.user, VIEW, product):
        raise PermissionDenied(REFUSALS[VIEW])
    form = ProductForm(request.POST or None, instance=product)
    if not can_save:
        for field in form.fields.values():
            field.disabled = True
    if request.method == "POST":
        form, saved = save_product_form(request, site, form)
        if saved:
            created = form.instance is product and pk is None
            product = form.instance
            edit_url = sites.page_url(request, site, "inventory:product-edit", product.pk)
            if wants_json(request):
                # The picker uploads the chosen photo once the product exists.
                # 201 says it was made now; saving one that exists is a 200.
                return JsonResponse(
                    {"id": product.pk, "url": edit_url}, status=201 if created else 200
                )
            messages.success(request, _("Product saved."))
            return redirect(edit_url)
        if wants_json(request):
            return refused_save(request, form)
    return render(
        request,
        "inventory/product_form.html",
        {
            "site": site,
            "form": form,
            "product": product if product.pk else None,
            "image": images.product_image(images.ImageViewer(request.user), product),
            "can_save": can_save,
            "picker_messages": picker_messages(),
        },
    )


def refused_save(request, form):
    """The picker's save of a product refused: the form's errors, and its
    fields rendered with them, which the picker puts in place of the page's.
    Sending the form again to show them would reload the page and lose the
    photo picked, which the user had to take again with the camera."""
    fields = render_to_string("inventory/product_fields.html", {"form": form}, request=request)
    return JsonResponse({"errors": form.errors, "fields": fields}, status=400)


def save_product_form(request, site, form):
    """Save the product ``form``: the form saved and whether it was.

    A new product's form sent again is the save of the product it made
    (its key, ``Product.save_key``): a second tap on "Save" while a slow
    network carries the first, a save sent again after its answer was lost
    on the way back. That save edits the product, where it would be refused
    as taking the product's own CUG, or make a second product with the CUG
    changed. Two sendings at once (a form sent twice without the picker)
    may both find no product: the second is refused by the first's CUG or
    key (the form checks both), then finds the product.
    """
    new = form.instance.pk is None
    if new:
        form = form_of_product_made(request, site, form)
    saved = form.is_valid() and save_unless_taken(form)
    if not saved and new and form.instance.pk is None:
        made = form_of_product_made(request, site, form)
        if made is not form:
            form, saved = made, made.is_valid() and save_unless_taken(made)
    return form, saved


def form_of_product_made(request, site, form):
    """The new product ``form`` bound to the product made by an earlier
    sending of the same form, if the user may change it; the form without
    its key if they may not; else ``form``. Saving it again is changing
    it: one who may add products but not change them would otherwise
    change, with the form's key, the product they added, for good."""
    try:
        key = form.fields["save_key"].clean(form.data.get("save_key"))
    except ValidationError:
        return form
    made = key and Product.objects.visible_to(request.user, site).filter(save_key=key).first()
    if not made:
        return form
    if can_act_on_products(request.user, CHANGE, made):
        return ProductForm(request.POST, instance=made)
    # Its key spent: the form as one without a key, which saves a new
    # product (the key's constraint would refuse it).
    data = request.POST.copy()
    data.pop("save_key")
    return ProductForm(data, instance=form.instance)


def save_unless_taken(form):
    """Save a valid product form; False if another request took its CUG
    since the form checked it (the constraint refused the save), with the
    check's error on the form."""
    try:
        with transaction.atomic():
            form.save()
    except IntegrityError:
        form.full_clean()  # checks the constraints again, with the row now there
        if not form.errors:
            raise
        return False
    return True


@require_form_methods
@site_page
def site_settings(request, site):
    if not can_manage_site(request.user, site):
        raise PermissionDenied(SITE_REFUSAL)
    form = SiteSettingsForm(request.POST or None, instance=site)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Settings saved."))
        return redirect(sites.page_url(request, site, "inventory:site-settings"))
    return render(
        request,
        "inventory/site_settings.html",
        {
            "site": site,
            "form": form,
            "logo": images.site_logo(images.ImageViewer(request.user), site),
            "picker_messages": picker_messages(),
        },
    )


def viewed_image_of(user, kind, pk):
    """The image of the product or site ``pk`` as ``user`` gets it, if the
    user may see that row at all; else 404, as for a row of another site."""
    viewer = images.ImageViewer(user)
    if kind == "product":
        if not can_act_on_products(user, VIEW):
            raise Http404
        return images.product_image(
            viewer, get_object_or_404(Product.objects.visible_to(user), pk=pk)
        )
    return images.site_logo(
        viewer, get_object_or_404(Configuration.objects.visible_to(user), pk=pk)
    )


@require_safe
@signed_in
def image_status(request, kind, pk):
    """Where a page waiting for an image's renditions asks whether they are
    made (``inventory/static/inventory/renditions.js``): their state, and the
    HTML that replaces the placeholder, rendered by the same template as the
    page (``size``: ``thumbnail`` for lists, ``display`` otherwise; ``alt``:
    the picture's text alternative on that page).

    Not site-scoped like the pages: the admin's previews wait too, for rows
    of any site a superuser sees."""
    size = "thumbnail" if request.GET.get("size") == "thumbnail" else "display"
    image = viewed_image_of(request.user, kind, pk)
    html = render_to_string(
        "inventory/image.html",
        {
            "image": image,
            "kind": kind,
            "object_id": pk,
            "size": size,
            "alt": request.GET.get("alt", ""),
        },
        request=request,
    )
    return JsonResponse({"state": image.state, "html": html})


@require_form_methods
@login_required
def choose_site(request):
    """Where a superuser picks the site to act on, kept for the session; then
    back to the page they came from, or to the products. The only way the
    session's site changes: a POST, with its CSRF token, so that no link
    from elsewhere switches it (``sites.acting_site``)."""
    if not request.user.is_superuser:
        raise Http404
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("inventory:home")
    if request.method == "POST":
        form = SiteChoiceForm(request.POST)
        if form.is_valid():
            sites.remember_site(request, form.cleaned_data["site"])
            return redirect(next_url)
    return site_chooser(request, next_url)
