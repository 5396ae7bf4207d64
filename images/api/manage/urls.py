"""Routes of the management API, mounted at /api/ (namespace "manage")."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import APIRootView, DefaultRouter

from accounts import api as organisations_api
from images.api.manage import views
from images.api.manage.base import ManageAPIMixin
from policies import api as policies_api
from proxy import api as proxy_api
from replication import api as replication_api


class RootView(APIRootView):
    """Berth's JSON management API: repositories, tags, manifests, search and the storage overview.
    Sign in (session or Basic auth) to see private repositories and to make changes."""

    # Knows who is signed in, as every other page of the API does (DRF's root had no authentication).
    authentication_classes = ManageAPIMixin.authentication_classes


class Router(DefaultRouter):
    include_format_suffixes = False  # "name.json" is a valid repository name, not a format
    APIRootView = RootView


app_name = "manage"

router = Router()
router.register("repositories", views.RepositoryViewSet, basename="repository")
router.register("tags", views.TagViewSet, basename="tag")
router.register("manifests", views.ManifestViewSet, basename="manifest")
router.register("search", views.SearchViewSet, basename="search")
router.register("storage", views.StorageViewSet, basename="storage")
organisations_api.register(router)
policies_api.register(router)
router.register("proxies", proxy_api.ProxyViewSet, basename="proxy")  # proxy/api.py
router.register("proxy-cache", proxy_api.CachedRepositoryViewSet, basename="proxy-cache")

replication_api.register(router)  # replication/api.py

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("", include(router.urls)),
]
