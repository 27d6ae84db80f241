from django.urls import path

from . import views

app_name = "supervision"

urlpatterns = [
    path("", views.order_list, name="list"),
    path("new/", views.order_new, name="new"),
    path("ledger.xlsx", views.ledger_xlsx, name="ledger"),
    path("<int:pk>/", views.order_detail, name="detail"),
    path("<int:pk>/<slug:action>/", views.order_act, name="act"),
    path("items/", views.item_list, name="items"),
    path("items/new/", views.item_new, name="item-new"),
    path("items/<int:pk>/", views.item_detail, name="item"),
    path("items/<int:pk>/<slug:action>/", views.item_act, name="item-act"),
    path("evidence/<int:pk>/", views.evidence_download, name="evidence"),
    path("review/", views.review_list, name="review"),
    path("review/<int:pk>/", views.review_mark, name="review-mark"),
]
