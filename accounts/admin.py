"""Admin for organisations, memberships, teams, repository grants, access tokens and login lockouts.

Token secrets exist only as hashes and are created in the account pages; here
tokens can be inspected and revoked. Login failures are counted by the sign-in
paths; deleting a row here lifts that lockout.
"""

from django.contrib import admin, messages
from django.utils import timezone

from accounts.models import AccessToken, LoginFailure, Membership, Organisation, RepositoryGrant, Team


class MembershipInline(admin.TabularInline):
    model = Membership
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
    count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
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
