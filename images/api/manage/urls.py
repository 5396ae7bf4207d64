"""Routes of the management API, mounted at /api/ (namespace "manage")."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from images.api.manage import views
from proxy import api as proxy_api


class Router(DefaultRouter):
    include_format_suffixes = False  # "name.json" is a valid repository name, not a format


app_name = "manage"

router = Router()
router.register("repositories", views.RepositoryViewSet, basename="repository")
router.register("tags", views.TagViewSet, basename="tag")
router.register("manifests", views.ManifestViewSet, basename="manifest")
router.register("search", views.SearchViewSet, basename="search")
router.register("storage", views.StorageViewSet, basename="storage")
router.register("proxies", proxy_api.ProxyViewSet, basename="proxy")  # proxy/api.py
router.register("proxy-cache", proxy_api.CachedRepositoryViewSet, basename="proxy-cache")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("", include(router.urls)),
]
