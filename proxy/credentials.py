"""Upstream passwords as operators enter them, for proxies and replication remotes alike: the admin's
write-only field and `--password-stdin` of the management commands. Stored by the models'
proxy.secrets.EncryptedPassword."""

import sys

from django import forms


class WriteOnlyPasswordForm(forms.ModelForm):
    """An admin form whose model keeps an encrypted password: set or cleared, never shown."""

    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="write-only: stored encrypted, never shown; leave empty to keep the stored one",
    )
    clear_password = forms.BooleanField(required=False, help_text="forget the stored password")

    def apply_password(self, obj):
        """Before the admin saves `obj`: the password typed, or none when cleared; else the stored one."""
        if self.cleaned_data.get("clear_password"):
            obj.set_password("")
        elif self.cleaned_data.get("password"):
            obj.set_password(self.cleaned_data["password"])


def add_password_stdin(parser, help="read the password from stdin"):
    parser.add_argument("--password-stdin", action="store_true", help=help)


def password_from_stdin(options):
    """The first line of stdin with --password-stdin, else None (keep the stored password)."""
    return sys.stdin.readline().rstrip("\r\n") if options["password_stdin"] else None
