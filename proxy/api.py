"""JSON API (/api/proxies/, /api/proxy-cache/): staff only; the upstream password is write-only."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.exceptions import ValidationError

from images.api.manage.base import ManageAPIMixin
from proxy import eviction, services
from proxy.models import PULL_CHOICES, CachedRepository, Proxy


class ProxySerializer(serializers.ModelSerializer):
    password = serializers.CharField(
        write_only=True, required=False, allow_blank=True, style={"input_type": "password"}
    )
    has_password = serializers.BooleanField(read_only=True)
    pull_access = serializers.ChoiceField(choices=PULL_CHOICES, required=False)
    cached_repositories = serializers.SerializerMethodField()
    cached_bytes = serializers.SerializerMethodField()

    class Meta:
        model = Proxy
        fields = [
            "id",
            "namespace",
            "upstream_url",
            "username",
            "password",
            "has_password",
            "verify_tls",
            "tag_ttl",
            "max_size",
            "max_age_days",
            "pull_access",
            "from_settings",
            "cached_repositories",
            "cached_bytes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["from_settings", "created_at", "updated_at"]
        extra_kwargs = {"namespace": {"validators": []}}

    def get_cached_repositories(self, obj) -> int:
        return obj.repositories.count()

    def get_cached_bytes(self, obj) -> int:
        return eviction.cached_bytes(obj)

    def save(self, **kwargs):
        data = {**self.validated_data, **kwargs}
        namespace = data.pop("namespace", self.instance.namespace if self.instance else "")
        if self.instance is not None and namespace != self.instance.namespace:
            raise ValidationError({"namespace": "the namespace of a proxy cannot change; remove it and add another"})
        try:
            self.instance = services.save(
                namespace,
                data.pop("upstream_url", None),
                username=data.pop("username", None),
                password=data.pop("password", None),
                **data,
            )
        except DjangoValidationError as exc:
            raise ValidationError({"detail": exc.messages}) from None
        return self.instance


class CachedRepositorySerializer(serializers.ModelSerializer):
    repository = serializers.CharField(source="repository.name")
    namespace = serializers.CharField(source="proxy.namespace")
    upstream = serializers.CharField(source="proxy.upstream_url")
    last_pulled_at = serializers.DateTimeField(source="repository.last_pull_at")

    class Meta:
        model = CachedRepository
        fields = ["repository", "namespace", "upstream", "upstream_name", "last_fetched_at", "last_pulled_at", "size"]


class StaffOnly(permissions.BasePermission):
    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_active and user.is_staff)

    def has_object_permission(self, request, view, obj):
        return self.has_permission(request, view)


class ProxyViewSet(ManageAPIMixin, viewsets.ModelViewSet):
    serializer_class = ProxySerializer
    permission_classes = [StaffOnly]
    queryset = Proxy.objects.all()
    lookup_field = "namespace"
    lookup_value_regex = "[^/]*"

    def perform_destroy(self, instance):
        services.remove(instance.namespace)


class CachedRepositoryViewSet(ManageAPIMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = CachedRepositorySerializer
    permission_classes = [StaffOnly]
    queryset = CachedRepository.objects.select_related("repository", "proxy").order_by("repository__name")
