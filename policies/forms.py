"""The settings page's form: rule values as people type them; policies.services.rules validates."""

from django import forms


class PolicyForm(forms.Form):
    repository = forms.CharField(
        required=False, label="Repositories", help_text="Empty = the whole namespace; or a glob such as web-*"
    )
    quota = forms.CharField(required=False, help_text="Namespace only, e.g. 10GiB; empty = no quota")
    warn_percent = forms.CharField(required=False, label="Warn at (%)", initial="80")
    immutable = forms.CharField(required=False, label="Immutable tags", help_text="Comma-separated globs, e.g. v*")
    keep_last = forms.CharField(required=False, label="Keep the last N tags")
    keep_days = forms.CharField(required=False, label="Keep tags pushed within D days")
    keep_tags = forms.CharField(required=False, label="Always keep tags", help_text="e.g. latest, release-*")
    untagged_days = forms.CharField(required=False, label="Remove untagged manifests after D days")

    def values(self):
        data = dict(self.cleaned_data)
        data["quota_bytes"] = data.pop("quota")
        data.pop("repository")
        return data

    def scope(self, namespace):
        repository = (self.cleaned_data.get("repository") or "").strip()
        return f"{namespace}/{repository}" if repository else namespace
