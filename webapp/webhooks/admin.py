from django.contrib import admin

from webapp.webhooks.models import WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("url", "tenant", "active", "created_by", "created_at")
    list_filter = ("active", "tenant")
    exclude = ("secret_ciphertext",)  # never shown again after creation
    readonly_fields = ("secret_hint", "created_by", "created_at", "deactivated_at")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "endpoint", "event", "state", "attempts", "last_status_code", "next_attempt_at", "created_at")
    list_filter = ("state", "event")
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields] + ["history", "payload"]
