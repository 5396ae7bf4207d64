from django.apps import AppConfig


class StorageBackendsConfig(AppConfig):
    name = "storage_backends"
    verbose_name = "Storage backends"

    def ready(self):
        from storage_backends import checks  # noqa: F401 - registers the start-up check
