"""The token endpoint (/v2/token) and the account pages (/accounts/...)."""

from django.urls import path

from accounts import token_views, ui

urlpatterns = [
    path("v2/token", token_views.TokenView.as_view(), name="registry-token"),
    path("accounts/login/", ui.LoginView.as_view(), name="login"),
    path("accounts/tokens/", ui.token_list, name="account-tokens"),
    path("accounts/tokens/<int:pk>/revoke/", ui.token_revoke, name="account-token-revoke"),
]
