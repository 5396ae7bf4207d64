from django.contrib import admin
from django.urls import include, path

from registry_site import health, metrics_view

urlpatterns = [
    path("", include("accounts.urls")),  # /v2/token and the account pages, before the catch-all routes
    path("", include("images.api.v2.urls")),
    path("", include("images.api.v1.urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("oidc/", include("accounts.oidc_urls")),  # OpenID Connect sign-in (answers 404 when not configured)
    path("api/auth/", include("rest_framework.urls")),
    path("", include("activity.urls")),  # /api/activity/ (before /api/), Activity tabs, tag restore
    path("api/", include("images.api.manage.urls")),
    path("", include("policies.urls")),  # /policies/<namespace>/: the namespace settings page
    path("", include("replication.urls")),  # the staff Replication page
    path("", include("images.ui.urls")),
    path("healthz", health.healthz),
    path("readyz", health.readyz),
    path("metrics", metrics_view.metrics_view, name="metrics"),
]

handler404 = "images.api.handlers.not_found"
handler500 = "images.api.handlers.server_error"
