"""Static files of the catalog, served by the app itself (gunicorn included): WhiteNoise from the finders.

STATIC_ROOT only exists after `collectstatic`; without it there is nothing to add and nothing to warn about.
"""

import os

from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    def add_files(self, root, prefix=None):
        if os.path.isdir(root):
            super().add_files(root, prefix)
