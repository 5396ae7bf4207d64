"""Organisation pages (/orgs/...): members and roles, teams, repository grants, robot accounts.

Every view translates HTTP and calls accounts/services/organisations.py, which decides who may do
what: members read, admins and staff change, everyone else gets 404. Changes are POSTs (CSRF);
destructive ones first show a confirmation page on GET.
"""

from functools import partial

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import (
    DescriptionForm,
    GrantForm,
    MemberForm,
    OrganisationForm,
    OrgRobotForm,
    RoleForm,
    TeamForm,
    add_service_error,
)
from accounts.services import organisations as service
from accounts.ui import token_created


def _confirm(request, title, text, button, cancel_url):
    return render(
        request, "accounts/confirm.html", {"title": title, "text": text, "button": button, "cancel_url": cancel_url}
    )


def _confirm_then(request, confirm, act, done, then_url):
    """GET: the confirmation page, confirm = (title, text, button, cancel URL); POST: act(), `done` as
    a message, then `then_url`."""
    if request.method == "GET":
        return _confirm(request, *confirm)
    act()
    messages.success(request, done)
    return redirect(then_url)


def _org_url(org):
    return reverse("org-detail", args=[org.name])


def _managed(request, name):
    """The organisation, if the user may see it (else 404) and change it (else 403)."""
    org = service.get(request.user, name)
    service.require_manage(request.user, org)
    return org


def _refused(request, error, url):
    messages.error(request, " ".join(error.messages))
    return redirect(url)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def org_list(request):
    """The organisations the user belongs to (staff: all of them, and a form to create one)."""
    form = OrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            org = service.create_organisation(request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"Created organisation {org.name}.")
            return redirect(_org_url(org))
    rows = service.visible(request.user).order_by("name")
    roles = service.my_roles(request.user)
    items = [(org, roles.get(org.pk)) for org in rows]
    status = 400 if form.errors else 200
    context = {"items": items, "form": form, "is_staff": service.is_staff(request.user)}
    return render(request, "accounts/organisations.html", context, status=status)


def _org_page(request, org, status=200, **forms):
    manage = service.may_manage(request.user, org)
    repos = list(service.repositories(org).values_list("name", flat=True))
    team_rows = list(service.teams(org))
    context = {
        "org": org,
        "my_role": service.role_of(request.user, org),
        "manage": manage,
        "members": service.members(org),
        "teams": team_rows,
        "repositories": repos,
        "grants": service.grants(org),
        "robots": service.robots(org),
        "role_form": RoleForm(),
    }
    if manage:
        context.update(
            description_form=forms.get("description_form") or DescriptionForm(initial={"description": org.description}),
            member_form=forms.get("member_form") or MemberForm(),
            team_form=forms.get("team_form") or TeamForm(),
            grant_form=forms.get("grant_form") or GrantForm(repositories=repos, teams=[t.name for t in team_rows]),
            robot_form=forms.get("robot_form") or OrgRobotForm(initial={"repositories": f"{org.name}/*"}),
        )
    return render(request, "accounts/organisation.html", context, status=status)


@never_cache
@login_required
def org_detail(request, name):
    return _org_page(request, service.get(request.user, name))


def _post_form(request, name, form_class, key, action, form_kwargs=None):
    """Validate `form_class`, call `action(org, cleaned_data)`; re-render the page with errors on failure.

    `action` returns a success message, or a response of its own; `form_kwargs(org)` the form's arguments."""
    org = _managed(request, name)
    form = form_class(request.POST, **(form_kwargs(org) if form_kwargs else {}))
    if form.is_valid():
        try:
            note = action(org, form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            if hasattr(note, "status_code"):
                return note
            messages.success(request, note)
            return redirect(_org_url(org))
    return _org_page(request, org, status=400, **{key: form})


@login_required
@require_POST
def org_edit(request, name):
    def action(org, data):
        service.update_organisation(request.user, org, data["description"])
        return "Saved the description."

    return _post_form(request, name, DescriptionForm, "description_form", action)


@login_required
@require_http_methods(["GET", "POST"])
def org_delete(request, name):
    org = service.get(request.user, name)
    service.require_staff(request.user, "delete organisations")
    confirm = (
        f"Delete the organisation {org.name}?",
        "Its memberships, teams, their grants and its robot accounts go. Repositories in its namespace stay "
        "(staff can still reach them).",
        f"Delete {org.name}",
        _org_url(org),
    )
    act = partial(service.delete_organisation, request.user, org)
    return _confirm_then(request, confirm, act, f"Deleted organisation {org.name}.", "org-list")


@login_required
@require_POST
def member_add(request, name):
    def action(org, data):
        membership = service.add_member(request.user, org, data["username"], data["role"])
        return f"Added {membership.user.get_username()} to {org.name} as {membership.role}."

    return _post_form(request, name, MemberForm, "member_form", action)


@login_required
@require_POST
def member_role(request, name, username):
    org = _managed(request, name)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return redirect(_org_url(org))
    try:
        membership = service.change_role(request.user, org, username, form.cleaned_data["role"])
    except ValidationError as error:
        return _refused(request, error, _org_url(org))
    messages.success(request, f"{username} is now {membership.role} in {org.name}.")
    return redirect(_org_url(org))


@login_required
@require_http_methods(["GET", "POST"])
def member_remove(request, name, username):
    org = _managed(request, name)
    if request.method == "GET":
        service.get_membership(org, username)
        return _confirm(
            request,
            f"Remove {username} from {org.name}?",
            f"{username} leaves {org.name} and its teams and loses what their role and the teams' grants gave "
            "on its repositories. Grants made to them by name stay.",
            f"Remove {username}",
            _org_url(org),
        )
    try:
        service.remove_member(request.user, org, username)
    except ValidationError as error:
        return _refused(request, error, _org_url(org))
    messages.success(request, f"Removed {username} from {org.name}.")
    if not service.visible(request.user).filter(pk=org.pk).exists():
        return redirect("org-list")  # they removed themselves
    return redirect(_org_url(org))


@login_required
@require_POST
def team_add(request, name):
    def action(org, data):
        team = service.create_team(request.user, org, data["name"])
        return f"Created team {team.name}."

    return _post_form(request, name, TeamForm, "team_form", action)


@login_required
@require_POST
def grant_add(request, name):
    def action(org, data):
        grant, created = service.grant(
            request.user, org, data["repository"], data["role"], username=data["username"], team=data["team"]
        )
        who = f"team {grant.team.name}" if grant.team_id else grant.user.get_username()
        return f"{who} {'has' if created else 'now has'} {grant.role} on {grant.repository.name}."

    def choices(org):
        teams = list(service.teams(org).values_list("name", flat=True))
        return {"repositories": list(service.repositories(org).values_list("name", flat=True)), "teams": teams}

    return _post_form(request, name, GrantForm, "grant_form", action, choices)


@login_required
@require_http_methods(["GET", "POST"])
def grant_revoke(request, name, pk):
    org = _managed(request, name)
    grant = service.get_grant(org, pk)
    who = f"team {grant.team.name}" if grant.team_id else grant.user.get_username()
    confirm = (
        f"Revoke {who}'s {grant.role} access to {grant.repository.name}?",
        f"{who} keeps only what other roles and grants give on {grant.repository.name}.",
        "Revoke access",
        _org_url(org),
    )
    act = partial(service.revoke_grant, request.user, org, pk)
    return _confirm_then(request, confirm, act, f"Revoked {who}'s access to {grant.repository.name}.", _org_url(org))


@never_cache
@login_required
@require_POST
def robot_add(request, name):
    def action(org, data):
        row, plaintext = service.create_robot(request.user, org, **data)
        return token_created(request, row, plaintext, _org_url(org))

    return _post_form(request, name, OrgRobotForm, "robot_form", action)


@login_required
@require_http_methods(["GET", "POST"])
def robot_revoke(request, name, robot):
    org = _managed(request, name)
    row = service.get_robot(org, robot)
    confirm = (
        f"Revoke the robot account {row.login_name}?",
        f"Clients logging in as {row.login_name} are refused from now on. This cannot be undone.",
        f"Revoke {row.login_name}",
        _org_url(org),
    )
    act = partial(service.revoke_robot, request.user, org, robot)
    return _confirm_then(request, confirm, act, f"Revoked robot account {row.login_name}.", _org_url(org))
