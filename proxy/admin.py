"""Admin: proxies (the upstream password is write-only) and the cached repositories (read-only)."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from proxy import eviction, routing, services
from proxy.credentials import WriteOnlyPasswordForm
from proxy.models import CachedRepository, Proxy


class ProxyForm(WriteOnlyPasswordForm):
    upstream_url = forms.URLField(max_length=500, assume_scheme="https", help_text="e.g. https://registry-1.docker.io")

    class Meta:
        model = Proxy
        fields = [
            "namespace",
            "upstream_url",
            "username",
            "verify_tls",
            "tag_ttl",
            "max_size",
            "max_age_days",
            "pull_access",
        ]

    def clean(self):
        data = super().clean()
        try:
            services.validate(data.get("namespace") or "", data.get("upstream_url") or "", data.get("pull_access"))
        except ValidationError as exc:
            if not (self.instance.pk and self.instance.namespace == (data.get("namespace") or "")):
                raise
            if "pushed repositories" not in " ".join(exc.messages):
                raise
        return data


@admin.register(Proxy)
class ProxyAdmin(admin.ModelAdmin):
    form = ProxyForm
    list_display = ("label", "upstream_url", "tag_ttl", "max_size", "max_age_days", "pull_access", "cached", "stored")
    readonly_fields = ("has_password", "from_settings", "created_at", "updated_at")

    @admin.display(description="namespace")
    def label(self, obj):
        return obj.namespace or "(transparent mirror)"

    @admin.display(description="cached repositories")
    def cached(self, obj):
        return obj.repositories.count()

    @admin.display(description="cached bytes")
    def stored(self, obj):
        return eviction.cached_bytes(obj)

    def save_model(self, request, obj, form, change):
        form.apply_password(obj)
        super().save_model(request, obj, form, change)
        routing.changed()

    def delete_model(self, request, obj):
        services.remove(obj.namespace)

    def delete_queryset(self, request, queryset):
        for proxy in queryset:
            services.remove(proxy.namespace)


@admin.register(CachedRepository)
class CachedRepositoryAdmin(admin.ModelAdmin):
    list_display = ("repository", "proxy", "upstream_name", "last_fetched_at", "last_pulled", "size")
    list_select_related = ("repository", "proxy")
    search_fields = ("repository__name", "upstream_name")
    readonly_fields = ("repository", "proxy", "upstream_name", "last_fetched_at", "last_pulled", "size")
    fields = readonly_fields

    @admin.display(description="last pulled")
    def last_pulled(self, obj):
        return obj.repository.last_pull_at

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
