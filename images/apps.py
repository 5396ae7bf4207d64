from django.apps import AppConfig
from django.db.backends.signals import connection_created


class ImagesConfig(AppConfig):
    name = "images"
    verbose_name = "Images"

    def ready(self):
        from images import tasks  # noqa: F401  (the task run log's signal handlers)

        connection_created.connect(_count_own_writes, dispatch_uid="berth-read-cache-own-writes")


def _count_own_writes(sender, connection, **kwargs):
    """This process's writes seen by its own next read at once (images/services/read_cache.py)."""
    from images.services import read_cache

    read_cache.note_writes(connection)
