from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("images.api.v2.urls")),
    path("admin/", admin.site.urls),
]

handler404 = "images.api.handlers.not_found"
handler500 = "images.api.handlers.server_error"
