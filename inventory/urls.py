from django.urls import path

from inventory import views

app_name = "inventory"

urlpatterns = [
    path("", views.product_list, name="home"),
    path("products/new/", views.product_edit, name="product-create"),
    path("products/<int:pk>/", views.product_edit, name="product-edit"),
    path("site/", views.site_settings, name="site-settings"),
    path("sites/", views.choose_site, name="choose-site"),
]
