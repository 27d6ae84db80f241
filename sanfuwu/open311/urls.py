from django.urls import re_path

from . import views
from .ratelimit import rate_limited

FMT = r"\.(?P<fmt>json|xml)$"

urlpatterns = [
    re_path(r"^discovery" + FMT, rate_limited(views.discovery)),
    re_path(r"^services" + FMT, rate_limited(views.service_list)),
    re_path(r"^services/(?P<code>[^/.]+)" + FMT, rate_limited(views.service_definition)),
    re_path(r"^requests" + FMT, rate_limited(views.requests_view)),
    re_path(r"^requests/(?P<request_id>[^/.]+)" + FMT, rate_limited(views.request_detail)),
    re_path(r"^tokens/(?P<token>[^/.]+)" + FMT, rate_limited(views.token_view)),
    # any other resource: the spec's 404 in the format asked for
    re_path(r"^(?P<rest>.*)" + FMT, rate_limited(views.not_found)),
]
