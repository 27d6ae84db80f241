from django.urls import path

from . import views

app_name = "points"
urlpatterns = [
    path("", views.my_points, name="mine"),
    path("rankings/", views.rankings, name="rankings"),
    path("units/<int:pk>/", views.unit_ledger, name="unit"),
    path("people/<int:pk>/", views.person_ledger, name="person"),
    path("rules/", views.rules, name="rules"),
    path("rules/save/", views.rule_save, name="rule-save"),
    path("rules/recompute/", views.recompute, name="recompute"),
]
