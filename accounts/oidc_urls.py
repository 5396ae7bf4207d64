"""/oidc/authenticate/ (off to the provider) and /oidc/callback/ (back from it): 404 unless BERTH_OIDC_ISSUER is set."""

from django.urls import path

from accounts import oidc

urlpatterns = [
    path("authenticate/", oidc.AuthenticationRequestView.as_view(), name="oidc_authentication_init"),
    path("callback/", oidc.AuthenticationCallbackView.as_view(), name="oidc_authentication_callback"),
]
