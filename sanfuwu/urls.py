from django.contrib import admin
from django.urls import include, path

from sanfuwu.api.urls import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("", include("sanfuwu.web.urls")),
]
