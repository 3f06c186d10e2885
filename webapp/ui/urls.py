from django.urls import path

from webapp.ui import views

app_name = "ui"
urlpatterns = [
    path("", views.items, name="items"),
    path("upload/", views.upload, name="upload"),
    path("reports/", views.reports, name="reports"),
    path("reports/<uuid:pk>/download", views.report_download, name="report_download"),
    path("items/<uuid:pk>/", views.item, name="item"),
    path("items/<uuid:pk>/status", views.item_status, name="item_status"),
    path("items/<uuid:pk>/review", views.review, name="review"),
    path("items/<uuid:pk>/media", views.item_media, name="item_media"),
    path("items/<uuid:pk>/artifacts/<slug:detector>/<slug:name>", views.item_artifact, name="item_artifact"),
]
