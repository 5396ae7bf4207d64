from rest_framework import serializers

from activity.models import Event

FIELDS = [
    "id",
    "at",
    "action",
    "category",
    "outcome",
    "actor_kind",
    "actor",
    "token_prefix",
    "address",
    "user_agent",
    "namespace",
    "repository",
    "tag",
    "digest",
    "previous_digest",
    "count",
    "last_at",
    "detail",
]


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = Event
        fields = FIELDS
        read_only_fields = FIELDS


class RestoreSerializer(serializers.Serializer):
    repository = serializers.CharField(max_length=255)
    tag = serializers.CharField(max_length=128)
    digest = serializers.CharField(max_length=200)
