"""Forms of the account pages: access tokens and robot accounts."""

import re

from django import forms

from accounts.models import ACTIONS, Membership, Organisation, validate_namespace_name

PATTERN = re.compile(r"^[a-z0-9*][a-z0-9._/*-]*$")


class AccessTokenForm(forms.Form):
    name = forms.CharField(max_length=100, validators=[validate_namespace_name], help_text="e.g. ci-deploy")
    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.none(),
        required=False,
        empty_label="— personal access token —",
        help_text="Choose an organisation you administer to create a robot account for it.",
    )
    repositories = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        initial="*",
        help_text="Repository patterns, one per line; * matches anything (e.g. team/*).",
    )
    actions = forms.MultipleChoiceField(
        choices=[(a, a) for a in ACTIONS], widget=forms.CheckboxSelectMultiple, initial=["pull"]
    )
    expires_in_days = forms.IntegerField(
        min_value=1, max_value=3650, required=False, help_text="Leave empty for a token that does not expire."
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        admin_of = Membership.objects.filter(user=user, role="admin").values("organisation")
        self.fields["organisation"].queryset = (
            Organisation.objects.all() if user.is_superuser else Organisation.objects.filter(pk__in=admin_of)
        )

    def clean_repositories(self):
        patterns = [p.strip() for p in self.cleaned_data["repositories"].splitlines() if p.strip()]
        if not patterns:
            raise forms.ValidationError("Give at least one pattern.")
        for pattern in patterns:
            if not PATTERN.fullmatch(pattern):
                raise forms.ValidationError(f"“{pattern}” is not a repository pattern.")
        return "\n".join(patterns)

    def clean(self):
        data = super().clean()
        org = data.get("organisation")
        if org is not None and data.get("name"):
            if org.robots.filter(name=data["name"]).exists():
                self.add_error("name", f"{org.name} already has a robot account with this name.")
        return data
