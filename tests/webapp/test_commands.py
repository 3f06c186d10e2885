"""Management commands a user runs: analyze, ensure_demo, create_api_key."""
import json

import pytest
from django.core.management import CommandError, call_command

from tests.support.media import jpeg_bytes


def test_analyze_json_prints_one_object_per_file(tmp_path, capsys, transactional_db, tenant) -> None:
    paths = []
    for i in range(2):
        path = tmp_path / f"img{i}.jpg"
        path.write_bytes(jpeg_bytes(seed=50 + i))
        paths.append(str(path))
    call_command("analyze", *paths, "--json", "--tenant", "acme")
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [line["path"] for line in lines] == paths
    for line in lines:
        assert {"sha256", "media_type", "state", "verdict", "score", "detectors", "provenance"} <= line.keys()
        assert line["state"] == "done" and line["media_type"] == "image"


def test_analyze_exits_non_zero_with_a_one_line_reason(tmp_path, capsys, transactional_db, tenant) -> None:
    good, bad = tmp_path / "ok.jpg", tmp_path / "broken.jpg"
    good.write_bytes(jpeg_bytes())
    bad.write_bytes(jpeg_bytes()[:200])
    with pytest.raises(SystemExit) as exit_info:
        call_command("analyze", str(good), str(bad), "--json", "--tenant", "acme")
    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    assert len(captured.out.strip().splitlines()) == 1
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {bad}: The image is truncated or corrupt (image file is truncated (1 bytes not processed))."] or (
        len(errors) == 1 and "truncated or corrupt" in errors[0]
    )


def test_analyze_text(capsys, transactional_db, tenant) -> None:
    call_command("analyze", "--text", "A sentence typed by a human.", "--json", "--tenant", "acme")
    line = json.loads(capsys.readouterr().out)
    assert line["media_type"] == "text" and line["verdict"] == "inconclusive"


def test_ensure_demo_prints_credentials_once(capsys, db) -> None:
    call_command("ensure_demo")
    first = capsys.readouterr().out
    assert "username: admin" in first and "password: " in first
    call_command("ensure_demo")
    assert "password" not in capsys.readouterr().out


def test_create_api_key_prints_a_working_key(capsys, tenant) -> None:
    from webapp.accounts.keys import resolve_api_key

    call_command("create_api_key", "--tenant", "acme", "--name", "ci", "--scopes", "read")
    key = capsys.readouterr().out.strip()
    resolved = resolve_api_key(key)
    assert resolved is not None and resolved.tenant == tenant and resolved.scopes == ["read"]


def test_analyze_without_tenant_uses_demo_and_says_so_on_the_embedded_default(capsys, transactional_db,
                                                                              settings) -> None:
    from webapp.accounts.models import Tenant

    settings.FORENSICS_EMBEDDED_DATABASE = True
    call_command("analyze", "--text", "A sentence typed by a human.", "--json")
    assert "created the 'demo' tenant" in capsys.readouterr().err
    assert list(Tenant.objects.values_list("slug", flat=True)) == ["demo"]


def test_analyze_never_creates_a_tenant_in_a_server_database(capsys, transactional_db, settings) -> None:
    """On PostgreSQL (or any non-embedded database) a missing tenant is an error that says what to do."""
    from webapp.accounts.models import Tenant

    settings.FORENSICS_EMBEDDED_DATABASE = False
    with pytest.raises(CommandError, match="no --tenant given .* no 'demo' tenant"):
        call_command("analyze", "--text", "A sentence typed by a human.")
    with pytest.raises(CommandError, match="no tenant 'nosuch'.*create_tenant nosuch"):
        call_command("analyze", "--text", "A sentence typed by a human.", "--tenant", "nosuch")
    assert not Tenant.objects.exists()
    Tenant.objects.create(slug="demo", name="Demo platform")
    call_command("analyze", "--text", "A sentence typed by a human.", "--json")  # an existing demo is used
    assert json.loads(capsys.readouterr().out)["media_type"] == "text"


@pytest.mark.parametrize("scopes", ["", " , ", ","])
def test_create_api_key_refuses_empty_scopes(capsys, tenant, scopes: str) -> None:
    from webapp.accounts.models import ApiKey

    with pytest.raises(CommandError, match="at least one scope"):
        call_command("create_api_key", "--tenant", "acme", "--name", "ci", "--scopes", scopes)
    assert not ApiKey.objects.exists()
