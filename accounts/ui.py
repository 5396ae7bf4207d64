"""Account pages: sign-in with a failure limit, access tokens and robot accounts (create, list, revoke)."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from accounts import credentials, tokens
from accounts.forms import AccessTokenForm
from accounts.models import AccessToken, Membership
from images.conf import registry_setting


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


def manageable_tokens(user):
    """The user's personal tokens and the robot accounts of organisations they administer."""
    if user.is_superuser:
        robots = Q(organisation__isnull=False)
    else:
        admin_of = Membership.objects.filter(user=user, role="admin").values("organisation")
        robots = Q(organisation__in=admin_of)
    return AccessToken.objects.filter(Q(user=user, organisation__isnull=True) | robots).select_related(
        "organisation", "user"
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def token_list(request):
    form = AccessTokenForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        plaintext, key_id, secret_hash = tokens.new_access_token()
        expires = data.get("expires_in_days")
        row = AccessToken.objects.create(
            user=request.user,
            organisation=data.get("organisation"),
            name=data["name"],
            key_id=key_id,
            secret_hash=secret_hash,
            repositories=data["repositories"],
            actions=",".join(a for a in ("pull", "push", "delete") if a in data["actions"]),
            expires_at=timezone.now() + timedelta(days=expires) if expires else None,
        )
        response = render(
            request, "accounts/token_created.html", {"token": row, "plaintext": plaintext, "host": request.get_host()}
        )
        response["Cache-Control"] = "no-store"
        return response
    rows = manageable_tokens(request.user)
    return render(request, "accounts/tokens.html", {"form": form, "tokens": rows})


@login_required
@require_POST
def token_revoke(request, pk):
    row = manageable_tokens(request.user).filter(pk=pk).first()
    if row is None:
        raise Http404("No such token.")
    if row.revoked_at is None:
        AccessToken.objects.filter(pk=row.pk).update(revoked_at=timezone.now())
        messages.success(request, f"Revoked “{row}”.")
    return redirect("account-tokens")
