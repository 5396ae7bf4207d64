"""The progress interface services report through: `progress(desc, total, unit)` returns a bar.

Services default to NullProgress; management commands pass tqdm bars on a terminal
(images/management/progress.py).
"""


class NullProgress:
    def __init__(self, *args, **kwargs):
        pass

    def update(self, n=1):
        pass

    def close(self):
        pass
