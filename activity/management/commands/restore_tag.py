"""manage.py restore_tag REPOSITORY:TAG DIGEST — point a tag at a manifest it named before (as a push does)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from activity import history
from images import references
from images.errors import RegistryError


class Command(BaseCommand):
    help = "Restore a tag to an earlier manifest of its repository, through the push path (webhooks, policies, log)."

    def add_arguments(self, parser):
        parser.add_argument("reference", help="REPOSITORY:TAG, e.g. team/app:1")
        parser.add_argument("digest", help="the manifest digest the tag should name again")
        parser.add_argument("--as-user", default="", help="act as this user (their push rights are checked)")

    def handle(self, reference, digest, as_user="", **options):
        name, sep, tag = reference.rpartition(":")
        if not sep or not name or "/" in tag:
            raise CommandError("give REPOSITORY:TAG, e.g. team/app:1")
        user = None
        if as_user:
            user = get_user_model()._default_manager.filter(username=as_user).first()
            if user is None:
                raise CommandError(f"no user named {as_user}")
        try:
            manifest = history.restore(user, references.canonical_name(name), tag, digest)
        except RegistryError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        self.stdout.write(f"{references.canonical_name(name)}:{tag} -> {manifest.digest}")
