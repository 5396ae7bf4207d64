"""Team pages (/orgs/<org>/teams/<team>/): members, grants, delete. Rules in accounts/services/organisations.py."""

from functools import partial

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import TeamMemberForm, add_service_error
from accounts.org_views import _confirm_then, _managed, _org_url
from accounts.services import organisations as service


def _team_url(team):
    return reverse("org-team", args=[team.organisation.name, team.name])


def _candidates(org, team):
    in_team = set(team.members.values_list("username", flat=True))
    return [m.user.get_username() for m in service.members(org) if m.user.get_username() not in in_team]


def _team_page(request, org, team, form=None, status=200):
    manage = service.may_manage(request.user, org)
    context = {
        "org": org,
        "team": team,
        "manage": manage,
        "team_members": team.members.order_by("username"),
        "grants": team.repository_grants.select_related("repository").order_by("repository__name"),
        "form": form or (TeamMemberForm(candidates=_candidates(org, team)) if manage else None),
    }
    return render(request, "accounts/team.html", context, status=status)


@never_cache
@login_required
def team_detail(request, name, team):
    org = service.get(request.user, name)
    return _team_page(request, org, service.get_team(org, team))


@login_required
@require_POST
def team_member_add(request, name, team):
    org = _managed(request, name)
    row = service.get_team(org, team)
    form = TeamMemberForm(request.POST, candidates=_candidates(org, row))
    if form.is_valid():
        try:
            user = service.add_team_member(request.user, row, form.cleaned_data["username"])
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"Added {user.get_username()} to team {row.name}.")
            return redirect(_team_url(row))
    return _team_page(request, org, row, form=form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def team_member_remove(request, name, team, username):
    org = _managed(request, name)
    row = service.get_team(org, team)
    if request.method == "GET" and not row.members.filter(username=username).exists():
        return redirect(_team_url(row))
    confirm = (
        f"Remove {username} from team {row.name}?",
        f"{username} stays a member of {org.name} but loses what the team's grants gave.",
        f"Remove {username} from {row.name}",
        _team_url(row),
    )
    act = partial(service.remove_team_member, request.user, row, username)
    return _confirm_then(request, confirm, act, f"Removed {username} from team {row.name}.", _team_url(row))


@login_required
@require_http_methods(["GET", "POST"])
def team_delete(request, name, team):
    org = _managed(request, name)
    row = service.get_team(org, team)
    confirm = (
        f"Delete team {row.name}?",
        f"The team and its {row.repository_grants.count()} repository grant(s) go; its members stay in {org.name}.",
        f"Delete team {row.name}",
        _team_url(row),
    )
    act = partial(service.delete_team, request.user, row)
    return _confirm_then(request, confirm, act, f"Deleted team {row.name}.", _org_url(org))
