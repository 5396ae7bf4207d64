"""Static files of the catalog, served by the app itself (gunicorn included): WhiteNoise from the finders.

STATIC_ROOT only exists after `collectstatic`; without it there is nothing to add and nothing to warn about.
"""

import os

from django.shortcuts import redirect
from django.templatetags.static import static
from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    def add_files(self, root, prefix=None):
        if os.path.isdir(root):
            super().add_files(root, prefix)


def favicon(request):
    """/favicon.ico, which browsers ask for on their own: the catalog's icon, from the static files."""
    return redirect(static("berth/favicon.ico"), permanent=True)
