"""Routes of the v2 API. Names may span several path components; views validate them."""

from django.urls import re_path

from images.api.v2 import blobs, manifests, referrers, root, tags, uploads

NAME = r"(?P<name>[^?#]+?)"

urlpatterns = [
    re_path(r"^v2/?$", root.RootView.as_view()),
    re_path(r"^v2/_catalog$", tags.CatalogView.as_view()),
    re_path(rf"^v2/{NAME}/tags/list$", tags.TagsListView.as_view()),
    re_path(rf"^v2/{NAME}/manifests/(?P<reference>[^/]+)$", manifests.ManifestView.as_view()),
    re_path(rf"^v2/{NAME}/blobs/uploads/?$", uploads.UploadStartView.as_view()),
    re_path(rf"^v2/{NAME}/blobs/uploads/(?P<upload_id>[^/]+)$", uploads.UploadView.as_view()),
    re_path(rf"^v2/{NAME}/blobs/(?P<digest>[^/]+)$", blobs.BlobView.as_view()),
    re_path(rf"^v2/{NAME}/referrers/(?P<digest>[^/]+)$", referrers.ReferrersView.as_view()),
]
