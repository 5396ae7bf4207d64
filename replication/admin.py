"""Admin: remotes (password write-only, a "test connection" action), rules (a "run now" action), runs."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from proxy.credentials import WriteOnlyPasswordForm
from replication import services, triggers
from replication.models import Remote, ReplicationItem, ReplicationRule, ReplicationRun


class RemoteForm(WriteOnlyPasswordForm):
    url = forms.URLField(max_length=500, assume_scheme="https", help_text="e.g. https://dr.example.com")

    class Meta:
        model = Remote
        fields = ["name", "url", "username", "verify_tls"]

    def clean(self):
        data = super().clean()
        services.validate_remote(data.get("name") or "", data.get("url") or "")
        return data


@admin.register(Remote)
class RemoteAdmin(admin.ModelAdmin):
    form = RemoteForm
    list_display = ("name", "url", "username", "verify_tls", "last_check", "last_checked_at")
    readonly_fields = ("has_password", "last_check", "last_checked_at", "created_at")
    actions = ["test_connection"]

    def save_model(self, request, obj, form, change):
        form.apply_password(obj)
        super().save_model(request, obj, form, change)

    @admin.action(description="Test connection")
    def test_connection(self, request, queryset):
        for remote in queryset:
            result = services.test_remote(remote)
            level = messages.SUCCESS if result == "ok" else messages.ERROR
            self.message_user(request, f"{remote.name}: {result}", level)


class RuleForm(forms.ModelForm):
    class Meta:
        model = ReplicationRule
        fields = ["name", "remote", "mode", "repositories", "tags", "keep_last", "namespace", "referrers", "deletes"]
        fields += ["enabled", "interval", "concurrency"]

    def clean(self):
        data = super().clean()
        try:
            services.validate_rule(data)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None
        return data


@admin.register(ReplicationRule)
class ReplicationRuleAdmin(admin.ModelAdmin):
    form = RuleForm
    list_display = (
        "name",
        "mode",
        "remote",
        "repositories",
        "tags",
        "namespace",
        "enabled",
        "last_status",
        "last_run_at",
    )
    list_filter = ("mode", "enabled", "remote")
    readonly_fields = ("last_run_at", "last_status", "last_message", "created_at")
    actions = ["run_now"]

    @admin.action(description="Run now")
    def run_now(self, request, queryset):
        for rule in queryset:
            run, created = triggers.start(rule, "manual")
            self.message_user(request, f"{rule.name}: run {run.pk} {'queued' if created else 'was queued already'}")


class ItemInline(admin.TabularInline):
    model = ReplicationItem
    fields = ("source", "tag", "destination", "digest", "status", "bytes", "duration_seconds", "attempts", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ReplicationRun)
class ReplicationRunAdmin(admin.ModelAdmin):
    list_display = ("id", "rule", "trigger", "repository", "status", "bytes", "started_at", "finished_at", "error")
    list_filter = ("status", "trigger", "rule")
    readonly_fields = (
        "rule",
        "repository",
        "trigger",
        "status",
        "planned",
        "created_at",
        "started_at",
        "finished_at",
        "bytes",
        "error",
    )
    inlines = [ItemInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
