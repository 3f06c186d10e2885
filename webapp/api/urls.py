from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from webapp.api import views

app_name = "api"
urlpatterns = [
    path("analyses", views.AnalysisListCreate.as_view(), name="analyses"),
    path("analyses/<uuid:pk>", views.AnalysisDetail.as_view(), name="analysis"),
    path("analyses/<uuid:pk>/reviews", views.AnalysisReviews.as_view(), name="reviews"),
    path("analyses/<uuid:pk>/artifacts/<slug:detector>/<slug:name>", views.AnalysisArtifact.as_view(),
         name="artifact"),
    path("reports", views.Reports.as_view(), name="reports"),
    path("reports/<uuid:pk>", views.ReportDetail.as_view(), name="report"),
    path("reports/<uuid:pk>/download", views.ReportDownload.as_view(), name="report_download"),
    path("schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema", permission_classes=[AllowAny]), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema", permission_classes=[AllowAny]), name="redoc"),
]
