from django.urls import path

from . import views_keys

urlpatterns = [
    path("open311/", views_keys.key_list, name="open311-keys"),
    path("open311/issue/", views_keys.key_issue, name="open311-key-issue"),
    path("open311/<int:pk>/revoke/", views_keys.key_revoke, name="open311-key-revoke"),
]
