"""API and console parameters and bodies, generated: never a server error, and a refusal creates nothing."""
from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from forensics.models import Analysis
from tests.support.fuzz import FUZZ, any_text, json_values
from webapp.ui.queue import FILTER_KEYS

API_FILTERS = ("state", "verdict", "media_type", "cursor", "limit")
POST_URLS = ("/api/v1/analyses", "/api/v1/analyses/batch", "/api/v1/webhooks", "/api/v1/reports",
             "/api/v1/privacy/datasets", "/api/v1/privacy/jobs")


@FUZZ
@given(params=st.dictionaries(st.sampled_from(API_FILTERS), any_text, max_size=4))
def test_api_list_filters_never_fail(api, params: dict[str, str]) -> None:
    response = api.get("/api/v1/analyses", params)
    assert response.status_code < 500, (params, response.content[:300])
    assert response.status_code == 200 or response["Content-Type"] == "application/problem+json"


@FUZZ
@given(params=st.dictionaries(st.sampled_from((*FILTER_KEYS, "page")), any_text, max_size=5))
def test_console_queue_filters_never_fail(moderator_client, params: dict[str, str]) -> None:
    response = moderator_client.get("/", params)
    assert response.status_code in (200, 400), (params, response.status_code)


@FUZZ
@given(url=st.sampled_from(POST_URLS), body=json_values)
def test_json_bodies_never_fail(tenant, url: str, body: object) -> None:
    from rest_framework.test import APIClient

    from webapp.accounts.keys import issue_api_key

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_api_key(tenant, 'fuzz').plaintext}")
    before = Analysis.objects.count()
    response = client.post(url, json.dumps(body), content_type="application/json")
    assert response.status_code < 500, (url, body, response.content[:300])
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/problem+json"
        assert Analysis.objects.count() == before
