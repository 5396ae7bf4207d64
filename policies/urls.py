from django.urls import path

from policies import views

app_name = "policies"

urlpatterns = [
    path("policies/<str:namespace>/", views.settings_page, name="settings"),
    path("policies/<str:namespace>/set/", views.set_policy, name="set"),
    path("policies/<str:namespace>/clear/", views.clear_policy, name="clear"),
    path("policies/<str:namespace>/run/", views.run_retention, name="run"),
]
