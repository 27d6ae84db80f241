from django.urls import path

from . import views

urlpatterns = [
    path("", views.my_visits, name="visits-mine"),
    path("new/", views.visit_new, name="visit-new"),
    path("draft/", views.draft_save, name="visit-draft"),
    path("draft/clear/", views.draft_clear, name="visit-draft-clear"),
    path("objects/", views.object_search, name="visit-objects"),
    path("plans/", views.plan_new, name="visit-plan-new"),
    path("plans/<int:pk>/cancel/", views.plan_cancel, name="visit-plan-cancel"),
    path("coverage/", views.coverage_page, name="visits-coverage"),
    path("stats/", views.stats_page, name="visits-stats"),
    path("<int:pk>/", views.visit_detail, name="visit-detail"),
    path("<int:pk>/photos/<int:photo>/", views.visit_photo, name="visit-photo"),
]
