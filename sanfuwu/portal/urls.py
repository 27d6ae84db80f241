from django.urls import path

from . import views

app_name = "portal"
urlpatterns = [
    path("", views.landing, name="landing"),
    path("submit/<str:door>/", views.submit, name="submit"),
    path("track/", views.track, name="track"),
    path("d/<str:token>/", views.demand_page, name="demand"),
    path("d/<str:token>/rate/", views.rate, name="rate"),
    path("d/<str:token>/withdraw/", views.withdraw, name="withdraw"),
    path("mine/", views.mine, name="mine"),
    path("signup/", views.signup, name="signup"),
    path("login/", views.PortalLoginView.as_view(), name="login"),
]
