from django.urls import path

from . import views

urlpatterns = [
    path("", views.rates_page, name="metrics-rates"),
    path("rankings/", views.rankings_page, name="metrics-rankings"),
    path("competition/", views.competition_page, name="metrics-competition"),
]
