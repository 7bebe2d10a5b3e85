from django.urls import path, re_path

from inventory import views

app_name = "inventory"

urlpatterns = [
    path("", views.product_list, name="home"),
    path("products/new/", views.product_edit, name="product-create"),
    path("products/<int:pk>/", views.product_edit, name="product-edit"),
    path("site/", views.site_settings, name="site-settings"),
    re_path(
        r"^images/(?P<kind>product|logo)/(?P<pk>[0-9]+)/$", views.image_status, name="image-status"
    ),
    path("sites/", views.choose_site, name="choose-site"),
]
