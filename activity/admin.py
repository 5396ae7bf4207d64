"""The site-wide log in the admin: read-only (nothing can be added, changed or deleted here)."""

from django.contrib import admin

from activity.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["at", "action", "outcome", "actor_kind", "actor", "repository", "tag", "digest", "count", "address"]
    list_filter = ["category", "action", "outcome", "actor_kind", ("at", admin.DateFieldListFilter)]
    search_fields = ["actor", "repository", "tag", "digest", "namespace", "token_prefix", "address"]
    date_hierarchy = "at"
    list_per_page = 100
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff  # staff may see everything (images/permissions.py)

    def has_module_permission(self, request):
        return self.has_view_permission(request)
