from django.urls import path

from webapp.ui import calibration_views, operations_views, privacy_views, views, webhook_views

app_name = "ui"
urlpatterns = [
    path("", views.items, name="items"),
    path("upload/", views.upload, name="upload"),
    path("upload/one", views.upload_one, name="upload_one"),
    path("items/bulk-review", views.bulk_review, name="bulk_review"),
    path("reports/", views.reports, name="reports"),
    path("reports/<uuid:pk>/download", views.report_download, name="report_download"),
    path("webhooks/", webhook_views.webhooks, name="webhooks"),
    path("webhooks/<uuid:pk>/", webhook_views.webhook_deliveries, name="webhook_deliveries"),
    path("webhooks/<uuid:pk>/deactivate", webhook_views.webhook_deactivate, name="webhook_deactivate"),
    path("webhooks/<uuid:pk>/test", webhook_views.webhook_test, name="webhook_test"),
    path("privacy/", privacy_views.privacy_home, name="privacy"),
    path("privacy/budget", privacy_views.privacy_tenant_budget, name="privacy_tenant_budget"),
    path("privacy/datasets/<uuid:pk>/", privacy_views.privacy_dataset, name="privacy_dataset"),
    path("privacy/datasets/<uuid:pk>/jobs", privacy_views.privacy_submit, name="privacy_submit"),
    path("privacy/datasets/<uuid:pk>/budget", privacy_views.privacy_budget, name="privacy_budget"),
    path("privacy/jobs/<uuid:pk>/", privacy_views.privacy_job, name="privacy_job"),
    path("calibration/", calibration_views.calibrations_home, name="calibrations"),
    path("calibration/shipped", calibration_views.calibration_use_shipped, name="calibration_use_shipped"),
    path("calibration/<uuid:pk>/", calibration_views.calibration_detail, name="calibration"),
    path("calibration/<uuid:pk>/activate", calibration_views.calibration_activate, name="calibration_activate"),
    path("operations/", operations_views.operations, name="operations"),
    path("items/<uuid:pk>/", views.item, name="item"),
    path("items/<uuid:pk>/status", views.item_status, name="item_status"),
    path("items/<uuid:pk>/review", views.review, name="review"),
    path("items/<uuid:pk>/media", views.item_media, name="item_media"),
    path("items/<uuid:pk>/artifacts/<slug:detector>/<slug:name>", views.item_artifact, name="item_artifact"),
]
