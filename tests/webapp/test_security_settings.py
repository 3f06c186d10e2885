"""Security a deployer turns on from documented environment variables, and the headers the console sends."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_SECRET_KEY": "x7Hq-" + "k2Vd9sPl0aQz" * 5,
    "DJANGO_ALLOWED_HOSTS": "forensics.example.org",
    "DJANGO_HTTPS": "1",
    "DJANGO_SECURE_HSTS_PRELOAD": "1",
    "DJANGO_SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
}
DEPLOY_WARNINGS = ("security.W004", "security.W008", "security.W012", "security.W016")


def manage(*args: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**clean, "FORENSICS_VAR_DIR": str(tmp_path), "LOG_LEVEL": "ERROR", **env})


def test_check_deploy_is_clean_under_the_documented_production_variables(tmp_path) -> None:
    run = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION, tmp_path=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no issues" in run.stdout


def test_without_them_check_deploy_names_what_to_turn_on(tmp_path) -> None:
    """The embedded default serves plain http on 127.0.0.1, so these stay off until a deployer sets them."""
    env = {k: v for k, v in PRODUCTION.items() if k not in ("DJANGO_HTTPS", "DJANGO_SECURE_HSTS_PRELOAD")}
    run = manage("check", "--deploy", env=env, tmp_path=tmp_path)
    assert all(code in run.stdout + run.stderr for code in DEPLOY_WARNINGS), run.stdout + run.stderr


def test_the_https_settings_read_the_environment(tmp_path) -> None:
    probe = ("from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
             "s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
             "s.SECURE_PROXY_SSL_HEADER)")
    run = manage("shell", "-c", probe, env=PRODUCTION, tmp_path=tmp_path)
    assert run.stdout.split("\n")[-2] == "True 31536000 True True True ('HTTP_X_FORWARDED_PROTO', 'https')", run.stderr
    run = manage("shell", "-c", probe, env={**PRODUCTION, "DJANGO_SECURE_HSTS_SECONDS": "600",
                                             "DJANGO_SECURE_PROXY_SSL_HEADER": "X-Scheme=secure"}, tmp_path=tmp_path)
    assert run.stdout.split("\n")[-2] == "True 600 True True True ('HTTP_X_SCHEME', 'secure')", run.stderr


def test_behind_the_proxy_http_redirects_and_https_gets_hsts(client, settings, db) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    plain = client.get("/login/")
    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    assert client.get("/healthz").status_code == 200  # the container health check speaks plain http
    secure = client.get("/login/", HTTP_X_FORWARDED_PROTO="https")
    assert secure.status_code == 200 and secure["Strict-Transport-Security"].startswith("max-age=31536000")


CONSOLE_PAGES = ["/", "/upload/", "/reports/", "/webhooks/", "/privacy/", "/calibration/"]


@pytest.mark.parametrize("url", CONSOLE_PAGES + ["/login/"])
def test_console_pages_send_a_content_security_policy(client, tenant, url: str) -> None:
    from tests.conftest import make_user

    client.force_login(make_user(tenant, "lead", role="admin"))
    response = client.get(url)
    assert response.status_code == 200
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'" and policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'" and "unsafe-inline" not in policy["script-src"]


@pytest.mark.parametrize("url", CONSOLE_PAGES)
def test_console_pages_have_no_inline_script(client, tenant, url: str) -> None:
    """What the policy forbids must not be in the pages: script only from files, no on* handler attributes."""
    from tests.conftest import make_user

    client.force_login(make_user(tenant, "lead", role="admin"))
    html = client.get(url).content.decode()
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.DOTALL)
    assert scripts and all("src=" in attrs and not body.strip() for attrs, body in scripts)
    assert not re.search(r"\son[a-z]+\s*=", html) and "javascript:" not in html


def test_the_api_and_its_docs_are_left_to_their_own_policy(api) -> None:
    assert "Content-Security-Policy" not in api.get("/api/v1/analyses")


def test_an_unreachable_database_is_a_503_not_a_500(tmp_path) -> None:
    """A real refused connection (nothing listens on port 9), through the whole middleware stack."""
    probe = ("from django.test import Client; c = Client(raise_request_exception=False)\n"
             "for url, auth in (('/healthz', ''), ('/api/v1/analyses', 'Bearer fk_abcd1234_x')):\n"
             "    r = c.get(url, HTTP_AUTHORIZATION=auth) if auth else c.get(url)\n"
             "    print(url, r.status_code, r['Content-Type'].split(';')[0], r.get('Retry-After'))\n"
             "r = c.post('/login/', {'username': 'alice', 'password': 'x'})\n"
             "print('/login/', r.status_code, r['Content-Type'].split(';')[0], r.get('Retry-After'))\n")
    run = manage("shell", "-c", probe, env={"DATABASE_URL": "postgresql://postgres@127.0.0.1:9/none?connect_timeout=3"},
                 tmp_path=tmp_path)
    lines = [line for line in run.stdout.splitlines() if line.startswith("/")]
    assert lines == ["/healthz 503 text/plain 30", "/api/v1/analyses 503 application/problem+json 30",
                     "/login/ 503 text/plain 30"], run.stdout + run.stderr[-2000:]
