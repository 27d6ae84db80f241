from django.contrib import admin
from django.urls import include, path

from sanfuwu.api.urls import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("open311/v2/", include("sanfuwu.open311.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("portal/", include("sanfuwu.portal.urls")),
    path("inbox/", include("sanfuwu.inbox.urls")),
    path("insights/", include("sanfuwu.insights.urls")),
    path("files/", include("sanfuwu.attachments.urls")),
    path("visits/", include("sanfuwu.visits.urls")),
    path("keys/", include("sanfuwu.open311.urls_keys")),
    path("directory/", include("sanfuwu.directory.urls")),
    path("reports/", include("sanfuwu.reports.urls")),
    path("points/", include("sanfuwu.points.urls")),
    path("supervision/", include("sanfuwu.supervision.urls")),
    path("metrics/", include("sanfuwu.metrics.urls")),
    path("", include("sanfuwu.web.urls")),
]


def handler404(request, exception=None):
    """JSON for unknown API paths, the usual page elsewhere."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        return JsonResponse(
            {"code": "not_found", "message": "资源不存在", "field": None}, status=404
        )
    return page_not_found(request, exception)
