"""Admin for organisations, memberships, teams, repository grants, access tokens and login lockouts.

Token secrets exist only as hashes and are created in the account pages; here
tokens can be inspected and revoked. Login failures are counted by the sign-in
paths; deleting a row here lifts that lockout.
"""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from accounts.models import ROLE_ADMIN, AccessToken, LoginFailure, Membership, Organisation, RepositoryGrant, Team
from accounts.services import access_tokens, organisations


class MembershipFormSet(BaseInlineFormSet):
    """The organisation service's rule here too: an organisation that has an admin keeps one."""

    def clean(self):
        super().clean()
        if self.instance.pk is None:
            return
        before = set(self.instance.memberships.filter(role=ROLE_ADMIN).values_list("user__username", flat=True))
        after = set()
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            if data and not data.get("DELETE") and data.get("role") == ROLE_ADMIN and data.get("user"):
                after.add(data["user"].get_username())
        try:
            organisations.keeps_an_admin(self.instance, before, after)
        except ValidationError as error:
            raise ValidationError(error.messages) from None


class MembershipInline(admin.TabularInline):
    model = Membership
    formset = MembershipFormSet
    extra = 1
    autocomplete_fields = ["user"]


class TeamInline(admin.TabularInline):
    model = Team
    extra = 0
    fields = ["name"]
    show_change_link = True


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name", "description"]
    inlines = [MembershipInline, TeamInline]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation"]
    list_select_related = ["organisation"]
    search_fields = ["name", "organisation__name"]
    filter_horizontal = ["members"]
    autocomplete_fields = ["organisation"]


@admin.register(RepositoryGrant)
class RepositoryGrantAdmin(admin.ModelAdmin):
    list_display = ["repository", "user", "team", "role", "created_at"]
    list_select_related = ["repository", "user", "team__organisation"]
    search_fields = ["repository__name", "user__username", "team__name"]
    list_filter = ["role"]
    autocomplete_fields = ["repository", "user", "team"]


@admin.action(description="Revoke the selected tokens", permissions=["view"])
def revoke(modeladmin, request, queryset):
    count = access_tokens.revoke(queryset)
    modeladmin.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)


@admin.register(AccessToken)
class AccessTokenAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "key_id",  # the token's public prefix (berth_<key id>_...); the secret is never stored
        "user",
        "organisation",
        "actions",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    list_select_related = ["user", "organisation"]
    search_fields = ["name", "user__username", "organisation__name", "key_id"]
    list_filter = ["actions"]
    actions = [revoke]
    readonly_fields = [
        "user",
        "organisation",
        "name",
        "key_id",
        "repositories",
        "actions",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    exclude = ["secret_hash"]

    def has_add_permission(self, request):
        return False  # created in the account pages, where the secret is shown once

    def has_change_permission(self, request, obj=None):
        return False  # read-only; revoke with the action


@admin.register(LoginFailure)
class LoginFailureAdmin(admin.ModelAdmin):
    list_display = ["username", "address", "count", "expires_at"]
    search_fields = ["username", "address"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


from accounts import directory_admin  # noqa: E402, F401  (single sign-on models)
