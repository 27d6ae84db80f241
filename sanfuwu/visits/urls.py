from django.urls import path

from . import views, views_manage

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
    path("officials/", views_manage.official_options, name="visit-official-options"),
    path("pairings/", views_manage.pairing_index, name="pairings"),
    path(
        "pairings/enterprise/<int:pk>/",
        views_manage.pairing_enterprise,
        name="pairings-enterprise",
    ),
    path("pairings/enterprise/<int:pk>/new/", views_manage.pairing_new, name="pairing-new"),
    path(
        "pairings/enterprise/<int:pk>/<int:pairing>/end/",
        views_manage.pairing_end,
        name="pairing-end",
    ),
    path(
        "pairings/enterprise/<int:pk>/<int:pairing>/replace/",
        views_manage.pairing_replace,
        name="pairing-replace",
    ),
    path("pairings/official/<int:pk>/", views_manage.pairing_official, name="pairings-official"),
    path("teams/", views_manage.team_list, name="teams"),
    path("teams/<int:pk>/", views_manage.team_detail, name="team-detail"),
    path("teams/<int:pk>/members/", views_manage.team_member, name="team-member"),
    path("<int:pk>/", views.visit_detail, name="visit-detail"),
    path("<int:pk>/photos/<int:photo>/", views.visit_photo, name="visit-photo"),
]
