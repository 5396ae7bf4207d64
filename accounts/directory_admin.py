"""Admin for single sign-on: group mappings (directory group → organisation role and team), identities."""

from django.contrib import admin

from accounts.models import DirectoryGroupMapping, DirectoryIdentity, DirectoryManagedAccess


@admin.register(DirectoryGroupMapping)
class DirectoryGroupMappingAdmin(admin.ModelAdmin):
    list_display = ["group", "source", "organisation", "role", "team"]
    list_filter = ["source", "role", "organisation"]
    search_fields = ["group", "organisation__name", "team__name"]
    autocomplete_fields = ["organisation", "team"]


@admin.register(DirectoryIdentity)
class DirectoryIdentityAdmin(admin.ModelAdmin):
    list_display = ["user", "source", "subject", "last_sign_in"]
    list_filter = ["source"]
    search_fields = ["user__username", "subject"]
    readonly_fields = ["user", "source", "subject", "last_sign_in"]

    def has_add_permission(self, request):
        return False  # made by sign-ins; deleting one unlinks the directory account


@admin.register(DirectoryManagedAccess)
class DirectoryManagedAccessAdmin(admin.ModelAdmin):
    """What group mappings gave whom (read-only: the next sign-in recomputes it)."""

    list_display = ["user", "organisation", "team"]
    search_fields = ["user__username", "organisation__name"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
