"""Routes of the legacy v1 API (V1_PROTOCOL.md). Specific suffixes before the bare repository."""

from django.urls import re_path

from images.api.v1 import images, ping, repositories, search, users

REPO = r"v1/repositories/(?P<repository>[^?#]+?)"
IMAGE = r"v1/images/(?P<image_id>[^/]+)"
TAG = r"(?P<tag>[^/]+)"

urlpatterns = [
    re_path(r"^$", ping.RootView.as_view()),
    re_path(r"^(?:v1/)?_ping/?$", ping.PingView.as_view()),
    re_path(r"^v1/users/?$", users.UsersView.as_view()),
    re_path(r"^v1/users/(?P<username>[^/]+)/?$", users.UserView.as_view()),
    re_path(r"^v1/search/?$", search.SearchView.as_view()),
    re_path(rf"^{IMAGE}/json$", images.ImageJsonView.as_view()),
    re_path(rf"^{IMAGE}/layer$", images.ImageLayerView.as_view()),
    re_path(rf"^{IMAGE}/checksum$", images.ImageChecksumView.as_view()),
    re_path(rf"^{IMAGE}/ancestry$", images.ImageAncestryView.as_view()),
    re_path(rf"^{REPO}/tags/{TAG}/json$", repositories.TagJsonView.as_view()),
    re_path(rf"^{REPO}/tags/{TAG}$", repositories.TagView.as_view()),
    re_path(rf"^{REPO}/tags/?$", repositories.TagsView.as_view()),
    re_path(rf"^{REPO}/images$", repositories.IndexImagesView.as_view()),
    re_path(rf"^{REPO}/auth$", repositories.AuthView.as_view()),
    re_path(rf"^{REPO}/properties$", repositories.PropertiesView.as_view()),
    re_path(rf"^{REPO}/json$", repositories.RepositoryJsonView.as_view()),
    re_path(rf"^{REPO}/?$", repositories.RepositoryView.as_view()),
]
