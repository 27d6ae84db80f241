from django.contrib.auth import views as auth_views
from django.urls import path

from . import views, views_detail, views_intake

urlpatterns = [
    path("", views.home, name="home"),
    path("demands/", views.demand_list, name="demand-list"),
    path("demands/bulk-dispatch/", views.demand_bulk_dispatch, name="demand-bulk-dispatch"),
    path("demands/<int:pk>/", views_detail.demand_detail, name="demand-detail"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # the demand page and its action forms (views_detail), recording a demand (views_intake)
    *views_detail.urlpatterns,
    *views_intake.urlpatterns,
]
