from django.urls import path, register_converter

from inventory import views


class ImageKindConverter:
    """The kinds of image whose status a page asks for."""

    regex = "product|logo"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(ImageKindConverter, "image_kind")

app_name = "inventory"

urlpatterns = [
    path("", views.product_list, name="home"),
    path("products/new/", views.product_edit, name="product-create"),
    path("products/<int:pk>/", views.product_edit, name="product-edit"),
    path("site/", views.site_settings, name="site-settings"),
    # <int:pk>: an id Python will not read (over 4,300 digits) is no match,
    # a 404, rather than the lookup's ValueError.
    path("images/<image_kind:kind>/<int:pk>/", views.image_status, name="image-status"),
    path("sites/", views.choose_site, name="choose-site"),
]
