"""/oidc/authenticate/ (off to the provider) and /oidc/callback/ (back from it), when BERTH_OIDC_ISSUER is set."""

from django.urls import path

from accounts import oidc

urlpatterns = []
if oidc.enabled():
    urlpatterns = [
        path("authenticate/", oidc.AuthenticationRequestView.as_view(), name="oidc_authentication_init"),
        path("callback/", oidc.AuthenticationCallbackView.as_view(), name="oidc_authentication_callback"),
    ]
