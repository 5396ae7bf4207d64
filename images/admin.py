"""Django admin: declarative and read-only for content (it arrives only by push).

Destructive actions call the services (the same ones as the UI and the APIs),
after a confirmation page that names what goes. Large tables stay fast:
list_select_related, no full result counts, estimated paging counts on
PostgreSQL, and no list filters that enumerate big tables.
"""

import json

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.paginator import Paginator
from django.db import connection
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext

from images import counters, permissions
from images.errors import RegistryError
from images.models import (
    Blob,
    Manifest,
    ManifestChild,
    ManifestLayer,
    NamespaceCount,
    Repository,
    RepositoryBlob,
    RepositoryManifest,
    StorageCounter,
    StorageSnapshot,
    Tag,
    Upload,
    V1Image,
    V1RepositoryImage,
)
from images.services import manifests as manifest_service
from images.services import repositories, uploads
from images.ui.common import plural

admin.site.site_header = "Berth administration"
admin.site.site_title = "Berth admin"
admin.site.index_title = "Registry content"
admin.site.site_url = "/"

ESTIMATE_ABOVE = 100_000
FILTERED_ESTIMATE_ABOVE = 10_000


class LargeTablePaginator(Paginator):
    """On PostgreSQL a big result is counted from the planner's estimate, not COUNT(*): the table's
    reltuples when unfiltered, EXPLAIN's row estimate when filtered (the 100,000 tags of one repository)."""

    @cached_property
    def count(self):
        query = getattr(self.object_list, "query", None)
        if connection.vendor == "postgresql" and query is not None:
            estimate = self._filtered_estimate() if query.where else self._table_estimate(query)
            if estimate > (FILTERED_ESTIMATE_ABOVE if query.where else ESTIMATE_ABOVE):
                return estimate
        return super().count

    @staticmethod
    def _table_estimate(query):
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [query.model._meta.db_table])
            row = cursor.fetchone()
        return int(row[0]) if row and row[0] else 0

    def _filtered_estimate(self):
        sql, params = self.object_list.order_by().query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        return int(plan[0]["Plan"]["Plan Rows"])


class QuickCheckbox:
    """A big changelist's row checkbox written out directly: the markup Django's CheckboxInput renders, without
    its template (a fifth of a 50-row page's time)."""

    def action_checkbox(self, obj):
        label = format_html(gettext("Select this object for an action - {}"), str(obj))
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            str(obj.pk),
            label,
        )


class ReadOnlyMixin:
    """Content rows: viewable, never added, edited or deleted by hand."""

    show_full_result_count = False
    paginator = LargeTablePaginator

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class InternalTable:
    """Bookkeeping rows an operator never edits (links, references, tombstones): out of the admin's index,
    still reachable by URL and from the pages that link to them (inlines, "used by" links)."""

    def get_model_perms(self, request):
        return {"add": False, "change": False, "delete": False, "view": False}


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def confirm_action(modeladmin, request, queryset, *, title, action, items, warning, perform):
    """Show a confirmation page naming what goes; run `perform(obj)` for each object once confirmed."""
    if request.POST.get("confirmed") == "yes":
        done = 0
        for obj in queryset:
            try:
                perform(obj)
                done += 1
            except RegistryError as exc:
                modeladmin.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
        if done:
            modeladmin.message_user(request, f"{title}: {done} done.", messages.SUCCESS)
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "action": action,
        "items": items,
        "warning": warning,
        "queryset": queryset,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/berth/confirm_action.html", context)


def _may_delete(modeladmin, request, repos):
    if all(permissions.can_delete(request.user, repo) for repo in repos):
        return True
    modeladmin.message_user(request, "You may not delete content in these repositories.", messages.ERROR)
    return False


# --- repositories ---------------------------------------------------------------------------


TAGS_ON_REPOSITORY_PAGE = 100
# The big tables' changelists show 50 rows a page, not Django's 100: the admin renders each cell through
# its display machinery (~0.05 ms CPU a cell), and a page must answer in well under 50 ms (issue #35).
BIG_LIST_PAGE = 50


@admin.register(Repository)
class RepositoryAdmin(QuickCheckbox, admin.ModelAdmin):
    list_per_page = BIG_LIST_PAGE
    list_display = ["name", "namespace", "is_public", "tag_count", "total_size", "last_push_at", "catalog_link"]
    list_filter = ["is_public", ("last_push_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "description"]
    readonly_fields = [
        "name",
        "namespace",
        "created_at",
        "last_push_at",
        "last_pull_at",
        "pull_count",
        "tag_count",
        "total_size",
        "tag_list",
    ]
    fields = [*readonly_fields[:2], "description", "is_public", *readonly_fields[2:]]  # two editable
    actions = ["delete_repositories", "make_public", "make_private", "recount"]
    show_full_result_count = False
    paginator = LargeTablePaginator
    ordering = ["name"]

    def has_add_permission(self, request):
        return False  # repositories appear on first push

    def has_delete_permission(self, request, obj=None):
        return False  # the "delete repositories" action goes through the service

    def save_model(self, request, obj, form, change):
        if "description" in form.changed_data:
            repositories.set_description(obj.name, obj.description)
        if "is_public" in form.changed_data:
            repositories.set_visibility(obj.name, obj.is_public)

    @admin.display(description="tags")
    def tag_list(self, obj):
        """The first tags (natural order) and a link to all of them: a repository may hold 100,000."""
        names = list(obj.tags.order_by("sort_key").values_list("name", flat=True)[:TAGS_ON_REPOSITORY_PAGE])
        listing = reverse("admin:images_tag_changelist") + f"?repository__id__exact={obj.pk}"
        rest = (
            format_html(' … <a href="{}">all {} tags</a>', listing, obj.tag_count) if obj.tag_count > len(names) else ""
        )
        return format_html("{}{}", ", ".join(names) or "—", rest)

    @admin.action(description="Recount tags and sizes of every repository and the storage figures")
    def recount(self, request, queryset):
        if not request.user.is_superuser:
            return self.message_user(request, "Only a superuser may recount.", messages.ERROR)
        counters.recount()
        self.message_user(request, "Recounted every repository and the storage figures.", messages.SUCCESS)

    @admin.display(description="catalog")
    def catalog_link(self, obj):
        return format_html('<a href="{}">view</a>', reverse("ui:repository", args=[obj.name]))

    @admin.action(description="Delete selected repositories (tags, images; GC frees the bytes)")
    def delete_repositories(self, request, queryset):
        if not _may_delete(self, request, queryset):
            return None
        rows = list(queryset)
        items = [
            f"{r.name} — {plural(r.tags.count(), 'tag')}, {plural(r.manifest_links.count(), 'image')}" for r in rows
        ]
        return confirm_action(
            self,
            request,
            queryset,
            title="Delete repositories",
            action="delete_repositories",
            items=items,
            warning="Every tag and image in these repositories goes. Shared layers stay; GC frees the rest.",
            perform=lambda repo: repositories.delete_repository(repo.name),
        )

    @admin.action(description="Make selected repositories public")
    def make_public(self, request, queryset):
        if not all(permissions.can_write(request.user, repo) for repo in queryset):
            return self.message_user(request, "You may not change these repositories.", messages.ERROR)
        for repo in queryset:
            repositories.set_visibility(repo.name, True)
        self.message_user(request, "Repositories are public.", messages.SUCCESS)

    @admin.action(description=f"Make selected repositories private ({permissions.PRIVATE_WHO})")
    def make_private(self, request, queryset):
        if not all(permissions.can_write(request.user, repo) for repo in queryset):
            return self.message_user(request, "You may not change these repositories.", messages.ERROR)
        for repo in queryset:
            repositories.set_visibility(repo.name, False)
        self.message_user(request, f"Repositories are private: {permissions.PRIVATE_WHO} can pull.", messages.SUCCESS)


# --- tags -----------------------------------------------------------------------------------


@admin.register(Tag)
class TagAdmin(QuickCheckbox, ReadOnlyMixin, admin.ModelAdmin):
    list_per_page = BIG_LIST_PAGE
    list_display = ["__str__", "repository", "name", "manifest_digest", "v1_image", "updated_at", "pull_count"]
    list_select_related = ["repository", "manifest", "v1_image"]
    search_fields = ["name", "repository__name", "manifest__digest"]
    readonly_fields = ["repository", "name", "manifest", "v1_image", "v1_metadata", "updated_at", "pull_count"]
    fields = readonly_fields
    actions = ["untag"]
    ordering = ["-id"]  # the primary key index: a million tags page as fast as ten

    def get_queryset(self, request):
        return super().get_queryset(request).defer("manifest__payload", "v1_image__json")

    @admin.display(description="digest", ordering="manifest__digest")
    def manifest_digest(self, obj):
        return obj.manifest.digest[:19] + "…"

    @admin.action(description="Remove selected tags (images stay, by digest)")
    def untag(self, request, queryset):
        queryset = queryset.select_related("repository")
        if not _may_delete(self, request, [t.repository for t in queryset]):
            return None
        return confirm_action(
            self,
            request,
            queryset,
            title="Remove tags",
            action="untag",
            items=[f"{t.repository.name}:{t.name}" for t in queryset],
            warning="Only the tags go; the images stay and can be pulled by digest.",
            perform=lambda tag: manifest_service.delete(tag.repository.name, tag.name),
        )


# --- manifests ------------------------------------------------------------------------------


class LayerInline(ReadOnlyInline):
    model = ManifestLayer
    fields = ["position", "digest", "media_type", "size"]
    readonly_fields = fields


class ChildInline(ReadOnlyInline):
    model = ManifestChild
    fields = ["position", "digest", "media_type", "size", "platform"]
    readonly_fields = fields


@admin.register(Manifest)
class ManifestAdmin(QuickCheckbox, ReadOnlyMixin, admin.ModelAdmin):
    list_per_page = BIG_LIST_PAGE
    list_display = ["digest", "media_type", "size", "artifact_type", "created_at"]
    list_filter = ["media_type"]
    search_fields = ["=digest", "=subject_digest", "=config_digest"]
    fields = [
        "digest",
        "media_type",
        "size",
        "config_digest",
        "config_media_type",
        "artifact_type",
        "subject_digest",
        "annotations",
        "created_at",
        "payload_json",
    ]
    readonly_fields = fields
    inlines = [LayerInline, ChildInline]
    ordering = ["-id"]  # creation order, off the primary key index

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        match = request.resolver_match
        listing = match is not None and (match.url_name or "").endswith("_changelist")
        return qs.defer("payload") if listing else qs

    @admin.display(description="payload")
    def payload_json(self, obj):
        try:
            text = json.dumps(json.loads(bytes(obj.payload)), indent=2)
        except ValueError:
            text = repr(bytes(obj.payload)[:2000])
        return format_html('<pre style="white-space: pre-wrap; max-height: 40em; overflow: auto">{}</pre>', text)


@admin.register(ManifestLayer)
class ManifestLayerAdmin(InternalTable, ReadOnlyMixin, admin.ModelAdmin):
    """Which manifests use a blob: search by the layer's digest."""

    list_display = ["digest", "manifest", "position", "media_type", "size"]
    list_select_related = ["manifest"]
    search_fields = ["=digest", "=manifest__digest"]
    readonly_fields = ["manifest", "position", "digest", "media_type", "size"]
    fields = readonly_fields
    ordering = ["-id"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("manifest__payload")


@admin.register(ManifestChild)
class ManifestChildAdmin(InternalTable, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["digest", "parent", "position", "platform", "size"]
    list_select_related = ["parent"]
    search_fields = ["=digest", "=parent__digest"]
    readonly_fields = ["parent", "position", "digest", "media_type", "size", "platform"]
    fields = readonly_fields
    ordering = ["-id"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("parent__payload")


@admin.register(RepositoryManifest)
class RepositoryManifestAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["repository", "manifest_digest", "media_type", "created_at"]
    list_select_related = ["repository", "manifest"]
    search_fields = ["repository__name", "=manifest__digest"]
    readonly_fields = ["repository", "manifest", "created_at"]
    fields = readonly_fields
    actions = ["delete_images"]
    ordering = ["-id"]  # creation order, off the primary key index

    def get_queryset(self, request):
        return super().get_queryset(request).defer("manifest__payload")

    @admin.display(description="digest", ordering="manifest__digest")
    def manifest_digest(self, obj):
        return obj.manifest.digest

    @admin.display(description="media type")
    def media_type(self, obj):
        return obj.manifest.media_type

    @admin.action(description="Delete selected images from their repository (with their tags)")
    def delete_images(self, request, queryset):
        rows = list(queryset.select_related("repository", "manifest"))
        if not _may_delete(self, request, [r.repository for r in rows]):
            return None
        tags = {}
        for repo_id, manifest_id, name in Tag.objects.filter(
            repository_id__in={r.repository_id for r in rows}, manifest_id__in={r.manifest_id for r in rows}
        ).values_list("repository_id", "manifest_id", "name"):
            tags.setdefault((repo_id, manifest_id), []).append(name)
        items = []
        for r in rows:
            names = ", ".join(tags.get((r.repository_id, r.manifest_id), [])) or "none"
            items.append(f"{r.repository.name}@{r.manifest.digest} — tags: {names}")
        return confirm_action(
            self,
            request,
            queryset,
            title="Delete images",
            action="delete_images",
            items=items,
            warning="The images and every tag naming them go from these repositories; pulls by digest fail.",
            perform=lambda r: manifest_service.delete(r.repository.name, r.manifest.digest),
        )


# --- blobs and uploads ----------------------------------------------------------------------


@admin.register(Blob)
class BlobAdmin(QuickCheckbox, ReadOnlyMixin, admin.ModelAdmin):
    list_per_page = BIG_LIST_PAGE
    list_display = ["digest", "size", "media_type", "created_at"]
    search_fields = ["=digest"]
    readonly_fields = ["digest", "size", "media_type", "created_at", "used_by"]
    fields = readonly_fields
    ordering = ["-id"]

    @admin.display(description="used by")
    def used_by(self, obj):
        return format_html(
            '<a href="{}?q={}">manifests</a> · <a href="{}?q={}">repositories</a>',
            reverse("admin:images_manifestlayer_changelist"),
            obj.digest,
            reverse("admin:images_repositoryblob_changelist"),
            obj.digest,
        )


@admin.register(RepositoryBlob)
class RepositoryBlobAdmin(InternalTable, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["repository", "blob_digest", "blob_size", "created_at"]
    list_select_related = ["repository", "blob"]
    search_fields = ["repository__name", "=blob__digest"]
    readonly_fields = ["repository", "blob", "created_at"]
    fields = readonly_fields
    ordering = ["-id"]

    @admin.display(description="digest", ordering="blob__digest")
    def blob_digest(self, obj):
        return obj.blob.digest

    @admin.display(description="size", ordering="blob__size")
    def blob_size(self, obj):
        return obj.blob.size


@admin.register(Upload)
class UploadAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["uuid", "repository_name", "offset", "started_at", "updated_at"]
    search_fields = ["repository_name", "=uuid"]
    readonly_fields = ["uuid", "repository_name", "offset", "started_at", "updated_at"]
    fields = readonly_fields
    actions = ["cancel_uploads"]
    ordering = ["-updated_at"]

    @admin.action(description="Cancel selected uploads (discard their bytes)")
    def cancel_uploads(self, request, queryset):
        if not permissions.is_admin(request.user):
            return None
        return confirm_action(
            self,
            request,
            queryset,
            title="Cancel uploads",
            action="cancel_uploads",
            items=[f"{u.repository_name} {u.uuid} ({u.offset} bytes)" for u in queryset],
            warning="Clients still pushing these uploads will have to start over.",
            perform=uploads.cancel,
        )


# --- v1 -------------------------------------------------------------------------------------


@admin.register(V1Image)
class V1ImageAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["image_id", "parent", "size", "completed", "created_at"]
    list_select_related = ["parent"]
    list_filter = ["completed"]
    search_fields = ["=image_id"]
    readonly_fields = [
        "image_id",
        "parent",
        "layer",
        "size",
        "checksum",
        "tarsum",
        "diff_id",
        "completed",
        "ancestry",
        "created_at",
        "updated_at",
    ]
    fields = readonly_fields
    ordering = ["-id"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("json")


@admin.register(V1RepositoryImage)
class V1RepositoryImageAdmin(InternalTable, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["repository", "image_id", "checksum", "created_at"]
    list_select_related = ["repository"]
    search_fields = ["repository__name", "=image_id"]
    readonly_fields = ["repository", "image_id", "checksum", "created_at"]
    fields = readonly_fields
    ordering = ["-id"]


from images import admin_ops  # noqa: E402,F401


@admin.register(StorageCounter)
class StorageCounterAdmin(InternalTable, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "blobs", "blob_bytes", "manifests", "manifest_bytes", "tags", "linked_bytes"]


@admin.register(StorageSnapshot)
class StorageSnapshotAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["computed_at", "referenced_blobs", "referenced_bytes", "orphaned_blobs", "orphaned_bytes"]


@admin.register(NamespaceCount)
class NamespaceCountAdmin(InternalTable, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["namespace", "repositories", "public_repositories"]
