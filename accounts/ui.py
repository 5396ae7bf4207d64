"""Account pages: sign-in with a failure limit, access tokens and robot accounts (create, list, revoke)."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts import credentials
from accounts.forms import AccessTokenForm, add_service_error
from accounts.models import AccessToken
from accounts.services import access_tokens, organisations
from images.conf import registry_setting
from images.ui.common import public_host


class LoginView(auth_views.LoginView):
    """Django's sign-in, counting failures with the registry logins (429 while locked out)."""

    @method_decorator(sensitive_post_parameters("password"))
    def post(self, request, *args, **kwargs):
        address = credentials.client_address(request)
        username = request.POST.get("username", "")
        if credentials.throttled(address, username):
            credentials.too_many(address, username)
            form = self.get_form()
            response = self.render_to_response(self.get_context_data(form=form, locked_out=True))
            response.status_code = 429
            response["Retry-After"] = str(registry_setting("LOGIN_FAILURE_WINDOW"))
            return response
        return super().post(request, *args, **kwargs)  # failures are counted by accounts.backends

    def get_context_data(self, **kwargs):
        from django.conf import settings

        from accounts import ldap_backend, oidc

        context = super().get_context_data(**kwargs)
        context["oidc_provider"] = oidc.provider_name() if oidc.enabled() else None
        context["directory_error"] = getattr(self.request, ldap_backend.REQUEST_FLAG, None)
        context["password_login"] = settings.BERTH_LOCAL_LOGIN or ldap_backend.enabled()
        return context


def manageable_tokens(user):
    """The user's personal tokens and the robot accounts of organisations they administer."""
    robots = Q(organisation__in=organisations.managed(user))
    return AccessToken.objects.filter(Q(user=user, organisation__isnull=True) | robots).select_related(
        "organisation", "user"
    )


def token_created(request, row, plaintext, back_url):
    """The one page that shows a new token's secret, with a `docker login` command that works when pasted."""
    host = public_host(request)
    context = {
        "token": row,
        "plaintext": plaintext,
        "host": host,
        "login_command": f"echo {plaintext} | docker login {host} --username {row.login_name} --password-stdin",
        "back_url": back_url,
    }
    response = render(request, "accounts/token_created.html", context)
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def token_list(request):
    form = AccessTokenForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        values = {k: data[k] for k in ("name", "repositories", "actions", "expires_in_days")}
        try:
            if data.get("organisation") is not None:
                row, plaintext = organisations.create_robot(request.user, data["organisation"], **values)
            else:
                row, plaintext = access_tokens.create(request.user, **values)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            return token_created(request, row, plaintext, reverse("account-tokens"))
    rows = manageable_tokens(request.user)
    return render(request, "accounts/tokens.html", {"form": form, "tokens": rows})


@login_required
@require_http_methods(["GET", "POST"])
def token_revoke(request, pk):
    """GET asks for confirmation; POST revokes."""
    row = manageable_tokens(request.user).filter(pk=pk).first()
    if row is None:
        raise Http404("No such token.")
    if request.method == "GET":
        return render(
            request,
            "accounts/confirm.html",
            {
                "title": f"Revoke the token “{row}”?",
                "text": f"Clients that log in as {row.login_name} with this token are refused from now on. "
                "This cannot be undone; create a new token instead.",
                "button": f"Revoke {row}",
                "cancel_url": reverse("account-tokens"),
            },
        )
    if access_tokens.revoke(AccessToken.objects.filter(pk=row.pk)):
        messages.success(request, f"Revoked “{row}”.")
    return redirect("account-tokens")
