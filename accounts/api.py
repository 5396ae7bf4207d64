"""The organisation part of the JSON API (/api/organisations/...): members, teams, team members,
repository grants and robot accounts, with the same rules as the catalog's organisation pages.

Every view calls accounts/services/organisations.py, which decides: members read, admins and staff
change, staff create and delete organisations, anyone else gets 404. Its ValidationErrors become
400s: {"field": [...]} or {"detail": "...", "code": "..."} (e.g. code "last_admin").
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts.api_serializers import (
    GrantSerializer,
    MemberSerializer,
    OrganisationSerializer,
    OrganisationUpdateSerializer,
    RobotCreatedSerializer,
    RobotSerializer,
    RoleSerializer,
    TeamMemberSerializer,
    TeamSerializer,
)
from accounts.models import AccessToken, Membership, Organisation, RepositoryGrant, Team
from accounts.services import organisations as service
from images.api.manage.base import ManageAPIMixin

User = get_user_model()
NAME = r"[^/]+"
ORG = rf"organisations/(?P<org>{NAME})"


class OrganisationAPIMixin(ManageAPIMixin):
    permission_classes = [permissions.IsAuthenticated]
    lookup_value_regex = NAME

    def handle_exception(self, exc):
        if isinstance(exc, DjangoValidationError):
            if hasattr(exc, "error_dict"):
                exc = ValidationError(exc.message_dict)
            else:
                exc = ValidationError({"detail": " ".join(exc.messages), "code": exc.error_list[0].code or "invalid"})
        return super().handle_exception(exc)

    model = None  # the rows' model, for the schema (whose fake requests have no organisation)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.model.objects.none()
        return self.rows()

    def organisation(self):
        return service.get(self.request.user, self.kwargs["org"])

    def valid(self, serializer_class, partial=False):
        serializer = serializer_class(data=self.request.data, partial=partial, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def answer(self, obj, code=status.HTTP_200_OK, serializer_class=None):
        serializer_class = serializer_class or self.get_serializer_class()
        return Response(serializer_class(obj, context=self.get_serializer_context()).data, status=code)

    def listing(self, queryset):
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class OrganisationViewSet(OrganisationAPIMixin, viewsets.GenericViewSet):
    """Organisations you belong to (staff: all). Staff create and delete; admins change the description."""

    model = Organisation
    serializer_class = OrganisationSerializer
    lookup_field = "name"

    def rows(self):
        return service.visible(self.request.user).order_by("name")

    def list(self, request):
        return self.listing(self.get_queryset())

    def retrieve(self, request, name):
        return self.answer(service.get(request.user, name))

    def create(self, request):
        data = self.valid(OrganisationSerializer)
        org = service.create_organisation(request.user, data["name"], data.get("description", ""), data.get("admin"))
        return self.answer(org, status.HTTP_201_CREATED)

    @extend_schema(request=OrganisationUpdateSerializer, responses=OrganisationSerializer)
    def partial_update(self, request, name):
        org = service.get(request.user, name)
        data = self.valid(OrganisationUpdateSerializer, partial=True)
        if "description" in data:
            service.update_organisation(request.user, org, data["description"])
        else:
            service.require_manage(request.user, org)
        return self.answer(org)

    def destroy(self, request, name):
        service.delete_organisation(request.user, service.get(request.user, name))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberViewSet(OrganisationAPIMixin, viewsets.GenericViewSet):
    """Members and their roles. POST adds {username, role}; PATCH {role}; DELETE removes (not the last admin)."""

    model = Membership
    serializer_class = MemberSerializer
    lookup_field = "username"

    def rows(self):
        return service.members(self.organisation())

    def list(self, request, org):
        return self.listing(self.get_queryset())

    def retrieve(self, request, org, username):
        return self.answer(service.get_membership(self.organisation(), username))

    def create(self, request, org):
        data = self.valid(MemberSerializer)
        membership = service.add_member(request.user, self.organisation(), data["user"]["username"], data["role"])
        return self.answer(membership, status.HTTP_201_CREATED)

    @extend_schema(request=RoleSerializer, responses=MemberSerializer)
    def partial_update(self, request, org, username):
        data = self.valid(RoleSerializer)
        return self.answer(service.change_role(request.user, self.organisation(), username, data["role"]))

    def destroy(self, request, org, username):
        service.remove_member(request.user, self.organisation(), username)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TeamViewSet(OrganisationAPIMixin, viewsets.GenericViewSet):
    """Teams of the organisation with their members. POST creates {name}; DELETE deletes (with its grants)."""

    model = Team
    serializer_class = TeamSerializer
    lookup_field = "name"

    def rows(self):
        return service.teams(self.organisation())

    def list(self, request, org):
        return self.listing(self.get_queryset())

    def retrieve(self, request, org, name):
        return self.answer(service.get_team(self.organisation(), name))

    def create(self, request, org):
        data = self.valid(TeamSerializer)
        team = service.create_team(request.user, self.organisation(), data["name"])
        return self.answer(team, status.HTTP_201_CREATED)

    def destroy(self, request, org, name):
        service.delete_team(request.user, service.get_team(self.organisation(), name))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TeamMemberViewSet(OrganisationAPIMixin, viewsets.GenericViewSet):
    """Members of one team (they must be members of the organisation). POST adds {username}; DELETE removes."""

    model = User
    serializer_class = TeamMemberSerializer
    lookup_field = "username"

    def team(self):
        return service.get_team(self.organisation(), self.kwargs["team"])

    def rows(self):
        return self.team().members.order_by("username")

    def list(self, request, org, team):
        return self.listing(self.get_queryset())

    def create(self, request, org, team):
        data = self.valid(TeamMemberSerializer)
        user = service.add_team_member(request.user, self.team(), data["username"])
        return self.answer(user, status.HTTP_201_CREATED)

    def destroy(self, request, org, team, username):
        service.remove_team_member(request.user, self.team(), username)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GrantViewSet(OrganisationAPIMixin, viewsets.GenericViewSet):
    """Roles on single repositories of the organisation for a user or a team.

    POST {repository, role, user | team} creates or changes one; PATCH {role}; DELETE revokes."""

    model = RepositoryGrant
    serializer_class = GrantSerializer
    lookup_value_regex = r"[0-9]+"

    def rows(self):
        return service.grants(self.organisation())

    def list(self, request, org):
        return self.listing(self.get_queryset())

    def retrieve(self, request, org, pk):
        return self.answer(service.get_grant(self.organisation(), int(pk)))

    def create(self, request, org):
        data = self.valid(GrantSerializer)
        username, team = (data.get("user") or {}).get("username"), (data.get("team") or {}).get("name")
        grant, created = service.grant(
            request.user, self.organisation(), data["repository"]["name"], data["role"], username=username, team=team
        )
        return self.answer(grant, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=RoleSerializer, responses=GrantSerializer)
    def partial_update(self, request, org, pk):
        data = self.valid(RoleSerializer)
        return self.answer(service.change_grant(request.user, self.organisation(), int(pk), data["role"]))

    def destroy(self, request, org, pk):
        service.revoke_grant(request.user, self.organisation(), int(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RobotViewSet(OrganisationAPIMixin, viewsets.GenericViewSet):
    """Robot accounts (`<org>+<name>`). POST creates one and answers its token once; DELETE revokes it."""

    model = AccessToken
    serializer_class = RobotSerializer
    lookup_field = "name"

    def rows(self):
        return service.robots(self.organisation())

    def list(self, request, org):
        return self.listing(self.get_queryset())

    def retrieve(self, request, org, name):
        return self.answer(service.get_robot(self.organisation(), name))

    @extend_schema(responses={201: RobotCreatedSerializer})
    def create(self, request, org):
        data = self.valid(RobotSerializer)
        row, plaintext = service.create_robot(
            request.user,
            self.organisation(),
            name=data["name"],
            repositories="\n".join(data.get("patterns") or ["*"]),
            actions=data["action_list"],
            expires_in_days=data.get("expires_in_days"),
        )
        row.plaintext = plaintext
        return self.answer(row, status.HTTP_201_CREATED, RobotCreatedSerializer)

    def destroy(self, request, org, name):
        service.revoke_robot(request.user, self.organisation(), name)
        return Response(status=status.HTTP_204_NO_CONTENT)


def register(router):
    router.register("organisations", OrganisationViewSet, basename="organisation")
    router.register(rf"{ORG}/members", MemberViewSet, basename="organisation-member")
    router.register(rf"{ORG}/teams/(?P<team>{NAME})/members", TeamMemberViewSet, basename="organisation-team-member")
    router.register(rf"{ORG}/teams", TeamViewSet, basename="organisation-team")
    router.register(rf"{ORG}/grants", GrantViewSet, basename="organisation-grant")
    router.register(rf"{ORG}/robots", RobotViewSet, basename="organisation-robot")
    from accounts.directory_api import GroupMappingViewSet  # single sign-on (it imports this module)

    router.register(rf"{ORG}/group-mappings", GroupMappingViewSet, basename="organisation-group-mapping")
