"""Error reports never show credentials: Authorization headers, cookies, passwords, tokens."""

import re

from django.views.debug import SafeExceptionReporterFilter

SECRET_FIELDS = re.compile(r"pass|token|secret|auth|signature|credential|key", re.IGNORECASE)


class SecretsFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile(r"API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|CREDENTIAL", re.IGNORECASE)

    def get_post_parameters(self, request):
        params = super().get_post_parameters(request)
        if not params:
            return params
        cleansed = params.copy()
        for name in cleansed:
            if SECRET_FIELDS.search(name):
                cleansed[name] = self.cleansed_substitute
        return cleansed
