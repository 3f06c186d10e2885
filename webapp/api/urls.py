from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from webapp.api import batch, calibration_views, openapi, privacy_views, views, webhooks  # noqa: F401 - openapi registers the auth scheme

app_name = "api"
urlpatterns = [
    path("analyses", views.AnalysisListCreate.as_view(), name="analyses"),
    path("analyses/batch", batch.AnalysisBatch.as_view(), name="analyses_batch"),
    path("analyses/<uuid:pk>", views.AnalysisDetail.as_view(), name="analysis"),
    path("analyses/<uuid:pk>/reviews", views.AnalysisReviews.as_view(), name="reviews"),
    path("analyses/<uuid:pk>/artifacts/<slug:detector>/<slug:name>", views.AnalysisArtifact.as_view(),
         name="artifact"),
    path("reports", views.Reports.as_view(), name="reports"),
    path("reports/<uuid:pk>", views.ReportDetail.as_view(), name="report"),
    path("reports/<uuid:pk>/download", views.ReportDownload.as_view(), name="report_download"),
    path("calibrations", calibration_views.CalibrationListCreate.as_view(), name="calibrations"),
    path("calibrations/active", calibration_views.OperatingPoint.as_view(), name="operating_point"),
    path("calibrations/<uuid:pk>", calibration_views.CalibrationDetail.as_view(), name="calibration"),
    path("calibrations/<uuid:pk>/activate", calibration_views.CalibrationActivate.as_view(),
         name="calibration_activate"),
    path("webhooks", webhooks.WebhookListCreate.as_view(), name="webhooks"),
    path("webhooks/<uuid:pk>", webhooks.WebhookDetail.as_view(), name="webhook"),
    path("webhooks/<uuid:pk>/deliveries", webhooks.WebhookDeliveries.as_view(), name="webhook_deliveries"),
    path("webhooks/<uuid:pk>/test", webhooks.WebhookTest.as_view(), name="webhook_test"),
    path("privacy/datasets", privacy_views.DatasetListCreate.as_view(), name="privacy_datasets"),
    path("privacy/datasets/<uuid:pk>", privacy_views.DatasetDetail.as_view(), name="privacy_dataset"),
    path("privacy/datasets/<uuid:pk>/ledger", privacy_views.DatasetLedger.as_view(), name="privacy_ledger"),
    path("privacy/jobs", privacy_views.JobListCreate.as_view(), name="privacy_jobs"),
    path("privacy/jobs/<uuid:pk>", privacy_views.JobDetail.as_view(), name="privacy_job"),
    path("privacy/versions", privacy_views.VersionList.as_view(), name="privacy_versions"),
    path("privacy/budget", privacy_views.TenantBudget.as_view(), name="privacy_budget"),
    path("schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema", permission_classes=[AllowAny]), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema", permission_classes=[AllowAny]), name="redoc"),
]
