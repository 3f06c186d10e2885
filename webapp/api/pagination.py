"""Limit/offset pagination with bounds, so absurd numbers are clamped instead of reaching the database."""
from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination

MAX_OFFSET = 2**31 - 1


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    max_limit = 200

    def get_offset(self, request) -> int:  # type: ignore[no-untyped-def]
        return min(super().get_offset(request), MAX_OFFSET)
