from django.urls import path
from rest_framework.routers import SimpleRouter

from inventory import api

router = SimpleRouter()
router.register("products", api.ProductViewSet, basename="product")

urlpatterns = [
    path("auth/token/", api.ObtainTokenView.as_view(), name="token"),
    path("site/", api.SiteView.as_view(), name="site"),
    *router.urls,
]
