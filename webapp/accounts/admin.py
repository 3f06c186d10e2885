from django.contrib import admin

from webapp.accounts.forms import ThrottledAdminAuthenticationForm
from webapp.accounts.models import ApiKey, Membership, Tenant

admin.site.login_form = ThrottledAdminAuthenticationForm  # the admin's log-in is throttled like the console's


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "kind", "created_at")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "tenant", "role")
    list_filter = ("tenant", "role")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "name", "tenant", "scopes", "created_at", "revoked_at")
    readonly_fields = ("prefix", "key_hash", "created_at", "last_used_at")
