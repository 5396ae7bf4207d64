"""Manage organisations from the command line, through the same service as the pages and the API.

    manage.py berth_org                                   # list organisations
    manage.py berth_org acme                              # members, teams, grants, robots
    manage.py berth_org acme --create [--description TEXT] [--admin alice]
    manage.py berth_org acme --member alice --role write  # add, or change the role
    manage.py berth_org acme --remove-member alice
    manage.py berth_org acme --team devs [--add alice] [--remove bob]   # creates the team if missing
    manage.py berth_org acme --delete-team devs
    manage.py berth_org acme --grant acme/app (--user bob | --to-team devs) --role write
    manage.py berth_org acme --revoke acme/app (--user bob | --to-team devs)
    manage.py berth_org acme --revoke-robot ci
    manage.py berth_org acme --delete

Robot accounts are created with `berth_user USER --org ORG --robot NAME` (the token shows once).
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.http import Http404

from accounts.services import organisations as service
from accounts.services.organisations import OPERATOR


class Command(BaseCommand):
    help = "List, show and change organisations: members, roles, teams, repository grants, robot accounts."

    def add_arguments(self, parser):
        parser.add_argument("organisation", nargs="?")
        parser.add_argument("--create", action="store_true")
        parser.add_argument("--description")
        parser.add_argument("--admin", help="first admin of a new organisation")
        parser.add_argument("--member", help="add this user, or change their role")
        parser.add_argument("--role", choices=service.ROLE_NAMES, help="role for --member and --grant")
        parser.add_argument("--remove-member")
        parser.add_argument("--team")
        parser.add_argument("--add", action="append", default=[], help="user to add to --team (repeatable)")
        parser.add_argument("--remove", action="append", default=[], help="user to take out of --team")
        parser.add_argument("--delete-team")
        parser.add_argument("--grant", metavar="REPOSITORY")
        parser.add_argument("--revoke", metavar="REPOSITORY")
        parser.add_argument("--user", help="user of --grant / --revoke")
        parser.add_argument("--to-team", help="team of --grant / --revoke")
        parser.add_argument("--revoke-robot", metavar="NAME")
        parser.add_argument("--delete", action="store_true")

    def handle(self, *args, **options):
        try:
            self.run(options)
        except (ValidationError, PermissionDenied, Http404) as error:
            raise CommandError(" ".join(getattr(error, "messages", None) or [str(error)])) from None

    def run(self, o):
        name = o["organisation"]
        if not name:
            for org in service.visible(OPERATOR).order_by("name"):
                self.stdout.write(org.name)
            return
        if o["create"]:
            service.create_organisation(OPERATOR, name, o["description"] or "", o["admin"])
            self.stdout.write(f"created organisation {name}")
        org = service.get(OPERATOR, name)
        if o["description"] is not None and not o["create"]:
            service.update_organisation(OPERATOR, org, o["description"])
        if o["member"]:
            self.set_member(org, o["member"], o["role"])
        if o["remove_member"]:
            service.remove_member(OPERATOR, org, o["remove_member"])
            self.stdout.write(f"removed {o['remove_member']} from {name}")
        if o["team"]:
            self.change_team(org, o["team"], o["add"], o["remove"])
        if o["delete_team"]:
            service.delete_team(OPERATOR, service.get_team(org, o["delete_team"]))
            self.stdout.write(f"deleted team {o['delete_team']}")
        if o["grant"]:
            grant, _ = service.grant(OPERATOR, org, o["grant"], o["role"] or "", o["user"], o["to_team"])
            self.stdout.write(f"{grant}")
        if o["revoke"]:
            self.revoke(org, o["revoke"], o["user"], o["to_team"])
        if o["revoke_robot"]:
            robot = service.revoke_robot(OPERATOR, org, o["revoke_robot"])
            self.stdout.write(f"revoked robot account {robot.login_name}")
        if o["delete"]:
            service.delete_organisation(OPERATOR, org)
            self.stdout.write(f"deleted organisation {name}")
            return
        self.show(org)

    def set_member(self, org, username, role):
        if not role:
            raise CommandError("--member needs --role (read, write or admin)")
        if org.memberships.filter(user__username=username).exists():
            service.change_role(OPERATOR, org, username, role)
        else:
            service.add_member(OPERATOR, org, username, role)
        self.stdout.write(f"{username} is {role} in {org.name}")

    def change_team(self, org, team_name, add, remove):
        team = org.teams.filter(name=team_name).first() or service.create_team(OPERATOR, org, team_name)
        for username in add:
            service.add_team_member(OPERATOR, team, username)
        for username in remove:
            service.remove_team_member(OPERATOR, team, username)

    def revoke(self, org, repository, username, team):
        rows = service.grants(org).filter(repository__name=repository)
        rows = rows.filter(team__name=team) if team else rows.filter(user__username=username or "")
        grant = rows.first()
        if grant is None:
            raise CommandError(f"no grant on {repository} for {team or username}")
        service.revoke_grant(OPERATOR, org, grant.pk)
        self.stdout.write(f"revoked {grant}")

    def show(self, org):
        w = self.stdout.write
        w(f"organisation {org.name}")
        for m in service.members(org):
            w(f"  member {m.user.get_username()} {m.role}")
        for team in service.teams(org):
            w(f"  team {team.name}: {', '.join(sorted(u.get_username() for u in team.members.all())) or '-'}")
        for grant in service.grants(org):
            w(f"  grant {grant}")
        for robot in service.robots(org):
            w(f"  robot {robot.login_name} {robot.actions} {robot.status}")
