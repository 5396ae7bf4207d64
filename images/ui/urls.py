"""Catalog pages. Names use the distribution grammar, so `/-/` can never be part of one."""

from django.urls import path, re_path

from images import references
from images.ui import home, manifests, repository, static, storage, tags, v1

app_name = "ui"

_COMPONENT = references._COMPONENT
NAME = rf"(?P<name>{_COMPONENT}(?:/{_COMPONENT})*)"
TAG = r"(?P<tag>[A-Za-z0-9_][A-Za-z0-9._-]{0,127})"
DIGEST = r"(?P<digest>[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+)"

urlpatterns = [
    path("", home.home, name="home"),
    path("storage/", storage.storage, name="storage"),
    # Browsers ask for /favicon.ico on their own (the API's JSON pages and files have no <link rel=icon>).
    path("favicon.ico", static.favicon, name="favicon"),
    re_path(rf"^r/{NAME}/$", repository.repository, name="repository"),
    re_path(rf"^r/{NAME}$", repository.add_slash),
    re_path(rf"^r/{NAME}/-/edit/$", repository.edit, name="repository-edit"),
    re_path(rf"^r/{NAME}/-/delete/$", repository.delete, name="repository-delete"),
    re_path(rf"^r/{NAME}/-/untag/$", repository.untag_many, name="tags-delete"),
    re_path(rf"^r/{NAME}/-/tags/{TAG}/$", tags.tag_detail, name="tag"),
    re_path(rf"^r/{NAME}/-/tags/{TAG}/delete/$", tags.untag, name="tag-delete"),
    re_path(rf"^r/{NAME}/-/manifests/{DIGEST}/$", manifests.manifest_detail, name="manifest"),
    re_path(rf"^r/{NAME}/-/manifests/{DIGEST}/delete/$", manifests.delete_image, name="manifest-delete"),
    re_path(rf"^r/{NAME}/-/v1/(?P<image_id>[0-9a-f]{{64}})/$", v1.v1_image, name="v1-image"),
]
