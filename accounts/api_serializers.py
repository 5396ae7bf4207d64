"""Serializers of the organisation API (accounts/api.py): plain ones, since the organisation service writes."""

from rest_framework import serializers
from rest_framework.reverse import reverse

from accounts.models import ACTIONS, ROLES
from accounts.services import organisations as service


def _url(serializer, view_name, *args):
    return reverse(view_name, args=args, request=serializer.context.get("request"))


class OrganisationSerializer(serializers.Serializer):
    url = serializers.SerializerMethodField()
    web_url = serializers.SerializerMethodField()
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    admin = serializers.CharField(write_only=True, required=False, max_length=150, help_text="First admin (create)")
    created_at = serializers.DateTimeField(read_only=True)
    your_role = serializers.SerializerMethodField(help_text="read, write, admin, or null (staff, not a member)")
    may_manage = serializers.SerializerMethodField()
    members_url = serializers.SerializerMethodField()
    teams_url = serializers.SerializerMethodField()
    grants_url = serializers.SerializerMethodField()
    robots_url = serializers.SerializerMethodField()

    def _user(self):
        return self.context["request"].user

    def get_url(self, obj) -> str:
        return _url(self, "manage:organisation-detail", obj.name)

    def get_web_url(self, obj) -> str:
        return _url(self, "org-detail", obj.name)

    def get_your_role(self, obj) -> str | None:
        return service.role_of(self._user(), obj)

    def get_may_manage(self, obj) -> bool:
        return service.may_manage(self._user(), obj)

    def get_members_url(self, obj) -> str:
        return _url(self, "manage:organisation-member-list", obj.name)

    def get_teams_url(self, obj) -> str:
        return _url(self, "manage:organisation-team-list", obj.name)

    def get_grants_url(self, obj) -> str:
        return _url(self, "manage:organisation-grant-list", obj.name)

    def get_robots_url(self, obj) -> str:
        return _url(self, "manage:organisation-robot-list", obj.name)


class OrganisationUpdateSerializer(serializers.Serializer):
    description = serializers.CharField(allow_blank=True, max_length=10_000)


class MemberSerializer(serializers.Serializer):
    username = serializers.CharField(source="user.username", max_length=150)
    role = serializers.ChoiceField(choices=ROLES)


class RoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=ROLES)


class TeamSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    members = serializers.SerializerMethodField()

    def get_members(self, obj) -> list[str]:
        return sorted(u.get_username() for u in obj.members.all())


class TeamMemberSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)


class GrantSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    repository = serializers.CharField(source="repository.name", max_length=255)
    user = serializers.CharField(source="user.username", required=False, allow_null=True, max_length=150)
    team = serializers.CharField(source="team.name", required=False, allow_null=True, max_length=100)
    role = serializers.ChoiceField(choices=ROLES)
    created_at = serializers.DateTimeField(read_only=True)


class RobotSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    login = serializers.CharField(source="login_name", read_only=True, help_text="User name for docker login")
    repositories = serializers.ListField(
        child=serializers.CharField(max_length=255), source="patterns", required=False, help_text="Patterns, * = any"
    )
    actions = serializers.ListField(child=serializers.ChoiceField(choices=ACTIONS), source="action_list")
    expires_in_days = serializers.IntegerField(write_only=True, required=False, allow_null=True)
    status = serializers.CharField(read_only=True)
    created_by = serializers.CharField(source="user.username", read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    last_used_at = serializers.DateTimeField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True)
    revoked_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, instance):
        instance.action_list = [a for a in ACTIONS if a in instance.action_set]
        return super().to_representation(instance)


class RobotCreatedSerializer(RobotSerializer):
    token = serializers.CharField(read_only=True, help_text="The secret: shown in this answer only")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["token"] = instance.plaintext
        return data
