from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from inventory.models import Product


@login_required
def home(request):
    """The user's site and its products."""
    site = request.user.site_configuration
    products = Product.objects.filter(site_configuration=site) if site else Product.objects.none()
    return render(request, "inventory/home.html", {"site": site, "products": products[:50]})
