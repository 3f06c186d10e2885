"""Cursor pagination for list endpoints: newest first, stable while new rows arrive.

An offset page shifts when items are added between two requests (a client
sees duplicates or misses rows); a cursor names a position instead. The
response is ``{"next": url|null, "previous": url|null, "results": [...]}``;
follow ``next`` as given. ``?limit=`` sets the page size (1-200, default 50).
"""
from __future__ import annotations

from datetime import datetime

from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination


class CreatedAtCursorPagination(CursorPagination):
    ordering = ("-created_at", "-id")  # id breaks ties between rows created in the same microsecond
    page_size_query_param = "limit"
    max_page_size = 200
    invalid_cursor_message = "Invalid cursor: pass the 'next' or 'previous' URL of a previous page unchanged."

    def decode_cursor(self, request) -> Cursor | None:  # type: ignore[no-untyped-def]
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise ValidationError({"cursor": [self.invalid_cursor_message]}) from None
        # A hand-made cursor could carry any position; it must be a timestamp to reach the database.
        if cursor is not None and cursor.position is not None and not _is_datetime(cursor.position):
            raise ValidationError({"cursor": [self.invalid_cursor_message]})
        return cursor


def _is_datetime(value: str) -> bool:
    try:
        return isinstance(parse_datetime(value), datetime)
    except ValueError:
        return False
