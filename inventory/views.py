"""The shop staff's pages: products and site settings, always of the
user's own site. Images never pass through these views: the pages'
image picker uploads them straight to storage (frontend_snippets)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from inventory.forms import ProductForm, SiteSettingsForm
from inventory.models import Product

PAGE_SIZE = 20


def user_site(request):
    site = request.user.site_configuration
    if site is None:
        raise Http404(_("Your account is not attached to a site yet."))
    return site


def picker_messages():
    """What the image picker says, in the user's language."""
    return {
        "pending": _("The photo will be uploaded when you save the product."),
        "preparing": _("Preparing the photo…"),
        "uploading": _("Uploading…"),
        "confirming": _("Checking the photo…"),
        "done": _("Photo saved."),
        "cancelled": _("Upload cancelled."),
        "wrong_type": _("Choose a JPEG, PNG or WebP photo."),
        "network_error": _("The connection was lost. Check your network and try again."),
        "upload_refused": _("Storage refused the file. Try again with another photo."),
        "failed": _("The upload failed. Try again."),
    }


def wants_json(request):
    return "application/json" in request.headers.get("Accept", "")


@login_required
def product_list(request):
    site = request.user.site_configuration
    products = Product.objects.filter(site_configuration=site) if site else Product.objects.none()
    query = request.GET.get("q", "").strip()
    if query:
        products = products.filter(Q(name__icontains=query) | Q(cug__icontains=query))
    page = Paginator(products, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "inventory/product_list.html", {"site": site, "page": page, "query": query}
    )


@login_required
def product_edit(request, pk=None):
    site = user_site(request)
    if pk:
        product = get_object_or_404(Product, pk=pk, site_configuration=site)
    else:
        product = Product(site_configuration=site)
    form = ProductForm(request.POST or None, instance=product)
    if request.method == "POST":
        if form.is_valid():
            product = form.save()
            if wants_json(request):
                # The picker uploads the chosen photo once the product exists.
                edit_url = reverse("inventory:product-edit", args=[product.pk])
                return JsonResponse({"id": product.pk, "url": edit_url}, status=201)
            messages.success(request, _("Product saved."))
            return redirect("inventory:product-edit", pk=product.pk)
        if wants_json(request):
            return JsonResponse({"errors": form.errors}, status=400)
    return render(
        request,
        "inventory/product_form.html",
        {
            "site": site,
            "form": form,
            "product": product if product.pk else None,
            "picker_messages": picker_messages(),
        },
    )


@login_required
def site_settings(request):
    site = user_site(request)
    if not request.user.can_manage_site(site):
        raise PermissionDenied
    form = SiteSettingsForm(request.POST or None, instance=site)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Settings saved."))
        return redirect("inventory:site-settings")
    return render(
        request,
        "inventory/site_settings.html",
        {"site": site, "form": form, "picker_messages": picker_messages()},
    )
