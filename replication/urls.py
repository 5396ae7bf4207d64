from django.urls import path

from replication import ui

urlpatterns = [
    path("replication/", ui.page, name="replication-page"),
    path("replication/<str:name>/run/", ui.run_now, name="replication-run"),
]
