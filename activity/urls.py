"""Activity pages under the catalog's URL scheme (`/-/` can never be part of a repository name)."""

from django.urls import include, path, re_path

from activity import api, views
from images.references import _COMPONENT
from images.ui.urls import NAME, TAG

app_name = "activity"

urlpatterns = [
    path("api/activity/", include(api.urlpatterns)),
    re_path(rf"^r/{NAME}/-/activity/$", views.repository_activity, name="repository"),
    re_path(rf"^r/{NAME}/-/tags/{TAG}/restore/$", views.restore, name="restore"),
    re_path(rf"^n/(?P<namespace>{_COMPONENT})/-/activity/$", views.namespace_activity, name="namespace"),
]
