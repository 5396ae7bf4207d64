"""/api/organisations/<org>/group-mappings/: directory group → role (and team) rules, for staff.

GET lists, POST {source, group, role, team?} adds (or changes the role and team of that group's rule),
DELETE /<id>/ removes. Through accounts/services/directory.py, as the admin and `manage.py berth_sso`.
"""

from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from accounts.api import OrganisationAPIMixin
from accounts.models import ROLES, SOURCES, DirectoryGroupMapping
from accounts.services import directory


class GroupMappingSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    source = serializers.ChoiceField(choices=SOURCES)
    group = serializers.CharField(max_length=500)
    role = serializers.ChoiceField(choices=ROLES)
    team = serializers.CharField(source="team.name", required=False, allow_null=True, default=None)


class GroupMappingViewSet(OrganisationAPIMixin, viewsets.GenericViewSet):
    model = DirectoryGroupMapping
    serializer_class = GroupMappingSerializer
    lookup_value_regex = r"[0-9]+"

    def rows(self):
        return directory.mappings(self.request.user, self.kwargs["org"]).order_by("source", "group")

    def list(self, request, org):
        return self.listing(self.get_queryset())

    def create(self, request, org):
        data = self.valid(GroupMappingSerializer)
        team = (data.get("team") or {}).get("name")
        row = directory.add_mapping(request.user, data["source"], data["group"], org, data["role"], team)
        return self.answer(row, status.HTTP_201_CREATED)

    def destroy(self, request, org, pk):
        directory.remove_mapping(request.user, None, "", org, pk=int(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
