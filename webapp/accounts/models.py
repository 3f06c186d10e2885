"""Tenants, their members' roles, and their API keys.

Every row the service stores belongs to exactly one tenant; isolation is
enforced by always querying through the caller's tenant (see
``webapp.accounts.tenancy``).
"""
from __future__ import annotations

from django.conf import settings
from django.db import models


class Tenant(models.Model):
    class Kind(models.TextChoices):
        PLATFORM = "platform", "Platform"
        ORGANISATION = "organisation", "Organisation"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PLATFORM)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.slug


class Role(models.TextChoices):
    MODERATOR = "moderator", "Moderator"
    COMPLIANCE = "compliance", "Compliance"
    ADMIN = "admin", "Admin"


class Membership(models.Model):
    """A user's one tenant and role. One tenant per user keeps isolation simple."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MODERATOR)

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant} ({self.role})"


class ApiKey(models.Model):
    """A tenant's key for the REST API. Only a SHA-256 of the secret is stored:
    the key is shown once, at creation."""

    class Scope(models.TextChoices):
        ANALYSE = "analyse", "Submit analyses"
        READ = "read", "Read results"
        REVIEW = "review", "Record review decisions"
        EXPORT = "export", "Export reports"
        WEBHOOKS = "webhooks", "Manage webhooks and see their deliveries"
        CALIBRATE = "calibrate", "Calibrate and switch the tenant's detector thresholds"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.tenant}:{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class WatermarkKey(models.Model):
    """A tenant's secret watermark key, encrypted at rest (see ``webapp.accounts.secret_box``).

    The key marks the tenant's own generations (green-list text, keyed image
    mark) and is what detection needs to find the mark again. ``key_id`` is a
    public fingerprint for evidence and audit events; the key never leaves
    encrypted storage except to the detector and, once, to the admin who
    created it.
    """

    class Kind(models.TextChoices):
        TEXT = "text", "Text (green-list)"
        IMAGE = "image", "Image (keyed DWT-DCT-SVD)"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="watermark_keys")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    key_id = models.CharField(max_length=16)
    ciphertext = models.TextField()
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "kind"], condition=models.Q(retired_at__isnull=True), name="one_active_watermark_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant}:{self.kind}:{self.key_id}"
