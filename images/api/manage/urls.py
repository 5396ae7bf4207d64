"""Routes of the management API, mounted at /api/ (namespace "manage")."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from accounts import api as organisations_api
from images.api.manage import views
from policies import api as policies_api


class Router(DefaultRouter):
    include_format_suffixes = False  # "name.json" is a valid repository name, not a format


app_name = "manage"

router = Router()
router.register("repositories", views.RepositoryViewSet, basename="repository")
router.register("tags", views.TagViewSet, basename="tag")
router.register("manifests", views.ManifestViewSet, basename="manifest")
router.register("search", views.SearchViewSet, basename="search")
router.register("storage", views.StorageViewSet, basename="storage")
organisations_api.register(router)
policies_api.register(router)

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("", include(router.urls)),
]
