"""Serializers: content is read-only (it arrives by push); only description and visibility are writable."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from rest_framework import serializers

from images.models import Repository, RepositoryManifest, Tag
from images.services import catalog, repositories


def _absolute(request, path):
    return request.build_absolute_uri(path) if request is not None else path


class RepositorySummarySerializer(serializers.ModelSerializer):
    """What a search hit or a list row carries."""

    url = serializers.HyperlinkedIdentityField(view_name="manage:repository-detail", lookup_field="name")
    web_url = serializers.SerializerMethodField()
    tag_count = serializers.IntegerField(read_only=True)
    total_size = serializers.IntegerField(read_only=True, help_text="Bytes of the distinct blobs linked")

    class Meta:
        model = Repository
        fields = [
            "url",
            "web_url",
            "name",
            "namespace",
            "description",
            "is_public",
            "last_push_at",
            "tag_count",
            "total_size",
        ]

    def get_web_url(self, obj) -> str:
        return _absolute(self.context.get("request"), reverse("ui:repository", args=[obj.name]))


class RepositorySerializer(RepositorySummarySerializer):
    tags_url = serializers.SerializerMethodField()
    manifests_url = serializers.SerializerMethodField()
    description = serializers.CharField(
        required=False, allow_blank=True, max_length=repositories.MAX_DESCRIPTION_LENGTH, trim_whitespace=True
    )

    class Meta(RepositorySummarySerializer.Meta):
        fields = RepositorySummarySerializer.Meta.fields + [
            "created_at",
            "last_pull_at",
            "pull_count",
            "tags_url",
            "manifests_url",
        ]
        read_only_fields = ["name", "namespace", "created_at", "last_push_at", "last_pull_at", "pull_count"]

    def get_tags_url(self, obj) -> str:
        return _absolute(self.context.get("request"), f"{reverse('manage:tag-list')}?repository={obj.name}")

    def get_manifests_url(self, obj) -> str:
        return _absolute(self.context.get("request"), f"{reverse('manage:manifest-list')}?repository={obj.name}")

    def update(self, instance, validated_data):
        """Changes go through the repository services, like the UI's."""
        try:
            if "description" in validated_data:
                repositories.set_description(instance.name, validated_data["description"])
                instance.description = repositories.get(instance.name).description
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"description": exc.messages}) from None
        if "is_public" in validated_data:
            repositories.set_visibility(instance.name, validated_data["is_public"])
            instance.is_public = validated_data["is_public"]
        return instance


class TagSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="manage:tag-detail")
    web_url = serializers.SerializerMethodField()
    repository = serializers.CharField(source="repository.name", read_only=True)
    digest = serializers.CharField(source="manifest.digest", read_only=True)
    media_type = serializers.CharField(source="manifest.media_type", read_only=True)
    image_size = serializers.IntegerField(read_only=True, help_text="Config + layer bytes (0 for an index)")
    manifest_url = serializers.SerializerMethodField()

    class Meta:
        model = Tag
        fields = [
            "id",
            "url",
            "web_url",
            "repository",
            "name",
            "digest",
            "media_type",
            "image_size",
            "updated_at",
            "pull_count",
            "manifest_url",
        ]
        read_only_fields = fields

    def get_web_url(self, obj) -> str:
        return _absolute(self.context.get("request"), reverse("ui:tag", args=[obj.repository.name, obj.name]))

    def get_manifest_url(self, obj) -> str:
        path = f"{reverse('manage:manifest-list')}?repository={obj.repository.name}&digest={obj.manifest.digest}"
        return _absolute(self.context.get("request"), path)


class ManifestSerializer(serializers.ModelSerializer):
    """A manifest as held by one repository."""

    url = serializers.HyperlinkedIdentityField(view_name="manage:manifest-detail")
    web_url = serializers.SerializerMethodField()
    repository = serializers.CharField(source="repository.name", read_only=True)
    digest = serializers.CharField(source="manifest.digest", read_only=True)
    media_type = serializers.CharField(source="manifest.media_type", read_only=True)
    size = serializers.IntegerField(source="manifest.size", read_only=True, help_text="Bytes of the manifest itself")
    image_size = serializers.IntegerField(read_only=True, help_text="Config + layer bytes (0 for an index)")
    artifact_type = serializers.CharField(source="manifest.artifact_type", read_only=True)
    config_digest = serializers.CharField(source="manifest.config_digest", read_only=True)
    subject_digest = serializers.CharField(source="manifest.subject_digest", read_only=True)
    tags = serializers.SerializerMethodField()
    platforms = serializers.SerializerMethodField()
    pushed_at = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = RepositoryManifest
        fields = [
            "id",
            "url",
            "web_url",
            "repository",
            "digest",
            "media_type",
            "size",
            "image_size",
            "artifact_type",
            "config_digest",
            "subject_digest",
            "tags",
            "platforms",
            "pushed_at",
        ]
        read_only_fields = fields

    def get_web_url(self, obj) -> str:
        path = reverse("ui:manifest", args=[obj.repository.name, obj.manifest.digest])
        return _absolute(self.context.get("request"), path)

    def get_tags(self, obj) -> list[str]:
        return getattr(obj, "tag_names", [])

    def get_platforms(self, obj) -> list[str]:
        return [str(catalog.Platform.of(c.platform)) for c in obj.manifest.children.all()]


class LayerSerializer(serializers.Serializer):
    digest = serializers.CharField()
    size = serializers.IntegerField()
    media_type = serializers.CharField()


class ManifestDetailSerializer(ManifestSerializer):
    layers = serializers.SerializerMethodField()
    config = serializers.SerializerMethodField()
    annotations = serializers.JSONField(source="manifest.annotations", read_only=True)

    class Meta(ManifestSerializer.Meta):
        fields = ManifestSerializer.Meta.fields + ["annotations", "layers", "config"]
        read_only_fields = fields

    @staticmethod
    def _layers(obj):
        return [layer for layer in obj.manifest.layers.all() if layer.position >= 0]

    def get_layers(self, obj) -> LayerSerializer(many=True):
        return LayerSerializer(self._layers(obj), many=True).data

    def get_config(self, obj) -> dict | None:
        """Summary of the image config (created, entrypoint, cmd, env, labels, ports, history)."""
        m = obj.manifest
        if m.config_media_type not in catalog.IMAGE_CONFIG_TYPES or not m.config_digest:
            return None
        return catalog.image_config(m.config_digest)


class StorageSerializer(serializers.Serializer):
    stored_bytes = serializers.IntegerField()
    stored_blobs = serializers.IntegerField()
    logical_bytes = serializers.IntegerField(help_text="Every image in every repository counted whole")
    saved_bytes = serializers.IntegerField(help_text="logical_bytes minus the bytes of the blobs in use")
    orphaned_bytes = serializers.IntegerField(help_text="Blobs no repository links (garbage collection frees them)")
    repositories = serializers.IntegerField()
    tags = serializers.IntegerField()
    manifests = serializers.IntegerField()
    largest = RepositorySummarySerializer(many=True)
