"""The token endpoint (/v2/token), the account pages (/accounts/...) and the organisation pages (/orgs/...)."""

from django.urls import path, register_converter

from accounts import org_views, team_views, token_views, ui


class NameConverter:
    """An organisation, team, robot or user name (no slash)."""

    regex = r"[^/]+"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(NameConverter, "n")

ORG = "orgs/<n:name>/"
TEAM = ORG + "teams/<n:team>/"

urlpatterns = [
    path("v2/token", token_views.TokenView.as_view(), name="registry-token"),
    path("accounts/login/", ui.LoginView.as_view(), name="login"),
    path("accounts/tokens/", ui.token_list, name="account-tokens"),
    path("accounts/tokens/<int:pk>/revoke/", ui.token_revoke, name="account-token-revoke"),
    path("orgs/", org_views.org_list, name="org-list"),
    path(ORG, org_views.org_detail, name="org-detail"),
    path(ORG + "edit/", org_views.org_edit, name="org-edit"),
    path(ORG + "delete/", org_views.org_delete, name="org-delete"),
    path(ORG + "members/add/", org_views.member_add, name="org-member-add"),
    path(ORG + "members/<n:username>/role/", org_views.member_role, name="org-member-role"),
    path(ORG + "members/<n:username>/remove/", org_views.member_remove, name="org-member-remove"),
    path(ORG + "teams/add/", org_views.team_add, name="org-team-add"),
    path(TEAM, team_views.team_detail, name="org-team"),
    path(TEAM + "delete/", team_views.team_delete, name="org-team-delete"),
    path(TEAM + "members/add/", team_views.team_member_add, name="org-team-member-add"),
    path(TEAM + "members/<n:username>/remove/", team_views.team_member_remove, name="org-team-member-remove"),
    path(ORG + "grants/add/", org_views.grant_add, name="org-grant-add"),
    path(ORG + "grants/<int:pk>/revoke/", org_views.grant_revoke, name="org-grant-revoke"),
    path(ORG + "robots/add/", org_views.robot_add, name="org-robot-add"),
    path(ORG + "robots/<n:robot>/revoke/", org_views.robot_revoke, name="org-robot-revoke"),
]
