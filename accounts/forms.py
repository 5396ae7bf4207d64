"""Forms of the account pages: access tokens, robot accounts and organisation management.

They check the shape of the input; the rules (who may, last admin, uniqueness) are the services'
(accounts/services/), whose ValidationErrors `add_service_error` puts next to the fields.
"""

from django import forms

from accounts.models import ACTIONS, ROLES, Organisation, validate_namespace_name
from accounts.services import access_tokens, organisations


def add_service_error(form, error):
    """Show a service's ValidationError on the form: by field when the form has the field."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


class PageForm(forms.Form):
    """A form on a page with several: its fields' ids start with `ids` (member-username, team-name...)."""

    ids = None

    def __init__(self, *args, **kwargs):
        if self.ids:
            kwargs.setdefault("auto_id", f"{self.ids}-%s")
        super().__init__(*args, **kwargs)


class RobotForm(PageForm):
    name = forms.CharField(max_length=100, validators=[validate_namespace_name], help_text="e.g. ci-deploy")
    repositories = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        initial="*",
        help_text="Repository patterns, one per line; * matches anything (e.g. team/*).",
    )
    actions = forms.MultipleChoiceField(
        choices=[(a, a) for a in ACTIONS], widget=forms.CheckboxSelectMultiple, initial=["pull"]
    )
    expires_in_days = forms.IntegerField(
        min_value=1,
        max_value=access_tokens.MAX_DAYS,
        required=False,
        help_text="Leave empty for a token that does not expire.",
    )

    def clean_repositories(self):
        return access_tokens.clean_patterns(self.cleaned_data["repositories"])


class OrgRobotForm(RobotForm):
    ids = "robot"


class AccessTokenForm(RobotForm):
    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.none(),
        required=False,
        empty_label="— personal access token —",
        help_text="Choose an organisation you administer to create a robot account for it.",
    )
    field_order = ["name", "organisation", "repositories", "actions", "expires_in_days"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["organisation"].queryset = organisations.managed(user)


class OrganisationForm(PageForm):
    ids = "org"
    name = forms.CharField(max_length=100, validators=[validate_namespace_name], help_text="Its namespace, e.g. acme")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    admin = forms.CharField(max_length=150, required=False, help_text="User name of its first admin (optional).")


class DescriptionForm(PageForm):
    ids = "org"
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class MemberForm(PageForm):
    ids = "member"
    username = forms.CharField(max_length=150, label="User name")
    role = forms.ChoiceField(choices=ROLES, initial="read")


class RoleForm(PageForm):
    role = forms.ChoiceField(choices=ROLES)


class TeamForm(PageForm):
    ids = "team"
    name = forms.CharField(max_length=100, validators=[validate_namespace_name], label="Team name")


class TeamMemberForm(PageForm):
    ids = "team-member"
    username = forms.ChoiceField(label="Member", choices=())

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].choices = [(name, name) for name in candidates]


class GrantForm(PageForm):
    ids = "grant"
    repository = forms.ChoiceField(choices=())
    team = forms.ChoiceField(choices=(), required=False, help_text="A team of the organisation…")
    username = forms.CharField(max_length=150, required=False, label="or a user", help_text="…or any user, by name.")
    role = forms.ChoiceField(choices=ROLES, initial="read")

    def __init__(self, *args, repositories, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["repository"].choices = [(name, name) for name in repositories]
        self.fields["team"].choices = [("", "—")] + [(name, name) for name in teams]

    def clean(self):
        data = super().clean()
        if bool(data.get("team")) == bool(data.get("username")):
            raise forms.ValidationError("Choose a team or give a user name (one of the two).")
        return data
