"""Admin for policies (saved through policies/services/rules.py: validated, recorded), usage, runs and changes."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from policies import sizes
from policies.models import NamespaceUsage, Policy, PolicyChange, RetentionRun
from policies.services import rules


class PolicyForm(forms.ModelForm):
    quota = forms.CharField(required=False, help_text="e.g. 10GiB, 500MB; empty = no quota")
    immutable = forms.CharField(required=False, help_text="Comma-separated tag globs, e.g. v*, release-*")
    keep_tags = forms.CharField(required=False, help_text="Comma-separated tag globs always kept")

    class Meta:
        model = Policy
        fields = ["namespace", "repository", "quota", "warn_percent", "immutable", "keep_last", "keep_days"]
        fields += ["keep_tags", "untagged_days"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["quota"] = sizes.human(self.instance.quota_bytes) if self.instance.quota_bytes else ""
            self.initial["immutable"] = ", ".join(self.instance.immutable)
            self.initial["keep_tags"] = ", ".join(self.instance.keep_tags)

    def clean(self):
        data = super().clean()
        values = {f: data.get(f) for f in rules.RULE_FIELDS if f != "quota_bytes"}
        values["quota_bytes"] = data.get("quota")
        try:
            rules.split_scope(f"{data.get('namespace', '')}/{data.get('repository', '')}")
            self.rule_values = rules.clean(values, data.get("repository", ""))
        except ValidationError as exc:
            errors = {("quota" if k == "quota_bytes" else k): v for k, v in exc.message_dict.items()}
            raise ValidationError({k if k in self.fields else None: v for k, v in errors.items()}) from None
        return data


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    form = PolicyForm
    list_display = ["__str__", "quota_text", "immutable", "keep_last", "keep_days", "keep_tags", "untagged_days"]
    list_filter = ["namespace"]
    search_fields = ["namespace", "repository"]
    readonly_fields = ["updated_at", "updated_by"]

    @admin.display(description="quota")
    def quota_text(self, obj):
        return sizes.human(obj.quota_bytes) if obj.quota_bytes is not None else "—"

    def save_model(self, request, obj, form, change):
        policy, notes = rules.set_policy(request.user, obj.scope, form.rule_values, replace=True)
        obj.pk = policy.pk
        for note in notes:
            self.message_user(request, note, level="warning")

    def delete_model(self, request, obj):
        rules.clear_policy(request.user, obj.scope)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            rules.clear_policy(request.user, obj.scope)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(NamespaceUsage)
class NamespaceUsageAdmin(ReadOnly):
    list_display = ["namespace", "used", "quota", "warned", "counted_at"]
    search_fields = ["namespace"]

    @admin.display(description="used (exact after garbage collection)")
    def used(self, obj):
        return sizes.human(obj.bytes)

    @admin.display(description="quota")
    def quota(self, obj):
        return sizes.human(obj.quota_bytes) if obj.quota_bytes is not None else "—"


@admin.register(RetentionRun)
class RetentionRunAdmin(ReadOnly):
    list_display = ["started_at", "scope", "dry_run", "status", "tags_removed", "manifests_removed", "bytes_freed"]
    list_filter = ["dry_run", "status"]


@admin.register(PolicyChange)
class PolicyChangeAdmin(ReadOnly):
    list_display = ["at", "actor", "action", "scope"]
    search_fields = ["scope", "actor"]
