from django.apps import AppConfig


class ImagesConfig(AppConfig):
    name = "images"
    verbose_name = "Images"

    def ready(self):
        from images import tasks  # noqa: F401  (the task run log's signal handlers)
