"""Admin for operations: garbage collection runs (and starting one), webhooks and their delivery log,
background task runs (images/tasks.py).

Pulled into the admin by the last line of images/admin.py. Runs and deliveries
are records, read-only; webhooks are configuration, editable by superusers.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from images import durations, tasks
from images.admin import InternalTable
from images.conf import registry_setting
from images.models import (
    BlobDeletion,
    GarbageCollectionRun,
    ScheduledRun,
    TaskRun,
    TaskWorker,
    Webhook,
    WebhookDelivery,
)
from images.services import gc, notifications


class _ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CollectForm(forms.Form):
    grace = forms.CharField(
        initial=registry_setting("GC_GRACE"), help_text="Leave anything younger than this (e.g. 30m, 2h, 1d)."
    )
    dry_run = forms.BooleanField(required=False, help_text="Only report what would go.")
    delete_untagged = forms.BooleanField(
        required=False, help_text="Also collect manifests no tag reaches (directly, as children or referrers)."
    )

    def clean_grace(self):
        try:
            return durations.parse(self.cleaned_data["grace"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


def collect_message(record):
    """What the admin says after starting a run: its result when it is done already, else where it went."""
    record.refresh_from_db()
    if record.status == GarbageCollectionRun.STATUS_DONE:
        return messages.SUCCESS, f"Garbage collection run {record.pk}: {record.summary.get('explanation', '')}"
    if record.status == GarbageCollectionRun.STATUS_FAILED:
        return messages.ERROR, f"Garbage collection run {record.pk} failed: {record.error}"
    text = f"Garbage collection started (run {record.pk}) on a worker; its result shows here when it ends."
    if not gc.workers_running():
        return messages.WARNING, text + " No worker is running: start `python manage.py worker`."
    return messages.SUCCESS, text


@admin.register(GarbageCollectionRun)
class GarbageCollectionRunAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = [
        "started_at",
        "status",
        "dry_run",
        "delete_untagged",
        "grace",
        "blobs_deleted",
        "bytes_freed",
        "manifests_deleted",
        "links_deleted",
        "uploads_deleted",
        "triggered_by",
        "result",
    ]
    list_filter = ["status", "dry_run"]
    readonly_fields = [f.name for f in GarbageCollectionRun._meta.fields]
    fields = readonly_fields

    @admin.display(description="grace")
    def grace(self, obj):
        from datetime import timedelta

        return durations.format(timedelta(seconds=obj.grace_seconds))

    @admin.display(description="result")
    def result(self, obj):
        return obj.error or (obj.summary or {}).get("explanation") or (obj.summary or {}).get("text", "")

    def get_urls(self):
        return [
            path("collect/", self.admin_site.admin_view(self.collect_view), name="images_garbagecollectionrun_collect"),
            *super().get_urls(),
        ]

    def collect_view(self, request):
        if not request.user.is_superuser:
            raise PermissionDenied
        form = CollectForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            record = gc.start_run(
                data["grace"], data["dry_run"], data["delete_untagged"], triggered_by=f"admin: {request.user}"
            )
            tasks.collect_garbage.enqueue(  # the run row is committed (no transaction here): a worker may start
                record.pk,
                int(data["grace"].total_seconds()),
                dry_run=data["dry_run"],
                delete_untagged=data["delete_untagged"],
            )
            level, text = collect_message(record)
            self.message_user(request, text, level)
            return redirect("admin:images_garbagecollectionrun_changelist")
        context = {**self.admin_site.each_context(request), "form": form, "title": "Run garbage collection"}
        return TemplateResponse(request, "admin/images/garbagecollectionrun/collect.html", context)


@admin.register(BlobDeletion)
class BlobDeletionAdmin(InternalTable, _ReadOnly, admin.ModelAdmin):
    """Byte deletions pending (a crash mid-sweep leaves some; the next run finishes them)."""

    list_display = ["digest", "size", "created_at"]
    search_fields = ["=digest"]


HIDDEN = "********"


class WebhookForm(forms.ModelForm):
    url = forms.URLField(max_length=1000, assume_scheme="https", help_text="Where events are POSTed.")
    events = forms.MultipleChoiceField(
        choices=[(a, a) for a in Webhook.EVENTS],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None selected = all events.",
    )
    # Secrets are write-only: the page never shows them, and what it doesn't show it keeps.
    secret = forms.CharField(
        max_length=200,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="X-Berth-Signature: sha256=<HMAC of the body with this secret>. "
        "Not shown once saved: leave empty to keep the current one.",
    )
    clear_secret = forms.BooleanField(required=False, help_text="Remove the secret (deliveries go unsigned).")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.headers:  # header names shown, values masked
            self.initial["headers"] = {name: HIDDEN for name in self.instance.headers}
            self.fields["headers"].help_text = f"Values shown as {HIDDEN} are kept as they are."

    def clean_headers(self):
        headers = self.cleaned_data.get("headers") or {}
        stored = self.instance.headers or {}
        if not isinstance(headers, dict):
            raise forms.ValidationError("Headers must be a JSON object.")
        return {name: stored.get(name, value) if value == HIDDEN else value for name, value in headers.items()}

    def clean(self):
        data = super().clean()
        if data.get("clear_secret"):
            data["secret"] = ""
        elif not data.get("secret"):
            data["secret"] = self.instance.secret
        return data

    class Meta:
        model = Webhook
        fields = [
            "name",
            "url",
            "enabled",
            "events",
            "repositories",
            "headers",
            "secret",
            "timeout_seconds",
            "max_attempts",
        ]


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    form = WebhookForm
    list_display = ["name", "url", "enabled", "event_list", "repositories", "max_attempts"]
    list_filter = ["enabled"]
    search_fields = ["name", "url"]

    @admin.display(description="events")
    def event_list(self, obj):
        return ", ".join(obj.events) or "all"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        notifications.clear_cache()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        notifications.clear_cache()

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    has_view_permission = has_add_permission = has_change_permission = has_delete_permission = (
        lambda self, request, obj=None: request.user.is_active and request.user.is_superuser
    )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = [
        "created_at",
        "webhook",
        "action",
        "repository",
        "status",
        "attempts",
        "response_code",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status", "action", "webhook"]
    list_select_related = ["webhook"]
    search_fields = ["repository", "=event_id"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    fields = readonly_fields
    actions = ["retry_now"]
    show_full_result_count = False

    @admin.action(description="Retry selected deliveries now")
    def retry_now(self, request, queryset):
        if not request.user.is_superuser:
            raise PermissionDenied
        count = notifications.retry_now(queryset)
        self.message_user(request, f"{count} deliveries queued again.", messages.SUCCESS)


@admin.register(TaskRun)
class TaskRunAdmin(_ReadOnly, admin.ModelAdmin):
    """Every run of a background task, on any backend: status, duration, error, what happens after a failure."""

    list_display = ["started_at", "task_name", "status", "duration", "short_error", "worker", "backend"]
    list_filter = ["status", "task_name", "backend"]
    search_fields = ["=task_id", "task_name", "worker"]
    readonly_fields = [f.name for f in TaskRun._meta.fields]
    fields = readonly_fields
    show_full_result_count = False

    @admin.display(description="duration", ordering="duration_seconds")
    def duration(self, obj):
        return "" if obj.duration_seconds is None else f"{obj.duration_seconds:.2f}s"

    @admin.display(description="error")
    def short_error(self, obj):
        return obj.error[:120]


@admin.register(ScheduledRun)
class ScheduledRunAdmin(_ReadOnly, admin.ModelAdmin):
    """The periodic jobs' slots (images/schedule.py): which worker enqueued each, and when."""

    list_display = ["due_at", "job", "worker", "enqueued_at", "task_id"]
    list_filter = ["job"]


@admin.register(TaskWorker)
class TaskWorkerAdmin(_ReadOnly, admin.ModelAdmin):
    """Workers and their last heartbeat (a worker silent for 3 heartbeats has its running task run again)."""

    list_display = ["worker_id", "hostname", "pid", "started_at", "seen_at"]
