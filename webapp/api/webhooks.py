"""REST API v1 for webhooks: register endpoints, list their deliveries, send a test ping.

All of it needs the ``webhooks`` scope: an endpoint receives every finished
analysis of the tenant (whoever submitted it), which is more than a key that
may only submit (``analyse``) should be able to arrange.
"""
from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from webapp.accounts.tenancy import scoped
from webapp.api.errors import problem
from webapp.api.serializers import StrictSerializer
from webapp.webhooks import services
from webapp.webhooks.models import WebhookDelivery, WebhookEndpoint

SCOPES = {"GET": "webhooks", "POST": "webhooks", "DELETE": "webhooks"}


class WebhookCreateSerializer(StrictSerializer):
    url = serializers.CharField(max_length=500, help_text="https:// URL on a public host")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=list(services.SUBSCRIBABLE_EVENTS)), required=False, allow_empty=False,
        help_text="Default: all analysis events.",
    )


class WebhookEndpointSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "active", "secret_hint", "created_by", "created_at", "deactivated_at"]
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(help_text="Signing secret; shown only in this response. Store it now.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class DeliveryAttemptSerializer(serializers.Serializer):
    attempt = serializers.IntegerField()
    at = serializers.DateTimeField()
    duration_ms = serializers.IntegerField()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_blank=True)


class WebhookDeliverySerializer(serializers.ModelSerializer):
    history = DeliveryAttemptSerializer(many=True, read_only=True)
    payload = serializers.DictField(read_only=True, help_text="The JSON body that is sent (and signed).")

    class Meta:
        model = WebhookDelivery
        fields = ["id", "event", "analysis_id", "state", "attempts", "next_attempt_at", "last_status_code",
                  "last_error", "history", "payload", "created_at", "delivered_at"]
        read_only_fields = fields


def tenant_endpoints(request: Request) -> QuerySet[WebhookEndpoint]:
    return scoped(WebhookEndpoint, request.actor)


class WebhookListCreate(generics.ListAPIView):
    serializer_class = WebhookEndpointSerializer
    required_scopes = SCOPES

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        return tenant_endpoints(self.request)

    @extend_schema(request=WebhookCreateSerializer, responses={201: WebhookEndpointCreatedSerializer})
    def post(self, request: Request) -> Response:
        form = WebhookCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            created = services.create_endpoint(request.actor, form.validated_data["url"],
                                               form.validated_data.get("events"))
        except ValueError as exc:  # DestinationRefused is a ValueError
            raise ValidationError({"url": [str(exc)]}) from None
        body = {**WebhookEndpointSerializer(created.endpoint).data, "secret": created.secret}
        return Response(body, status=status.HTTP_201_CREATED,
                        headers={"Location": f"/api/v1/webhooks/{created.endpoint.id}"})


class WebhookDetail(generics.RetrieveDestroyAPIView):
    """DELETE deactivates: nothing more is sent, the delivery history stays readable."""

    serializer_class = WebhookEndpointSerializer
    required_scopes = SCOPES

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        return tenant_endpoints(self.request)

    def perform_destroy(self, instance: WebhookEndpoint) -> None:
        services.deactivate_endpoint(instance)


class WebhookDeliveries(generics.ListAPIView):
    """Newest first, cursor-paginated, with every attempt's time, duration and status code."""

    serializer_class = WebhookDeliverySerializer
    required_scopes = SCOPES

    def get_queryset(self) -> QuerySet[WebhookDelivery]:
        endpoint = get_object_or_404(tenant_endpoints(self.request), pk=self.kwargs["pk"])
        return endpoint.deliveries.all()


class WebhookTest(generics.GenericAPIView):
    """Queue a ``ping`` delivery to check the receiver and its signature check."""

    serializer_class = WebhookDeliverySerializer
    required_scopes = SCOPES

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    def post(self, request: Request, pk: str) -> Response:
        endpoint = get_object_or_404(tenant_endpoints(request), pk=pk)
        if not endpoint.active:
            return problem(409, "endpoint_inactive", "Endpoint deactivated",
                           "This endpoint is deactivated; register a new one.")
        delivery = services.send_ping(endpoint)
        delivery.refresh_from_db()  # in eager mode it has already been attempted
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
