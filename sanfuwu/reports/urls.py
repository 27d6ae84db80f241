from django.urls import path

from . import views

urlpatterns = [
    path("", views.dashboard, name="reports-dashboard"),
    path("tables/", views.dashboard_tables, name="reports-tables"),
    path("monthly/", views.monthly, name="reports-monthly"),
    path("exports/", views.exports, name="reports-exports"),
    path("exports/<int:pk>/", views.export_status, name="reports-export"),
    path("exports/<int:pk>/download/", views.export_download, name="reports-export-download"),
]
