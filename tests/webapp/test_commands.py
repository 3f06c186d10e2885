"""Management commands a user runs: analyze, ensure_demo, create_api_key."""
import json

import pytest
from django.core.management import call_command

from tests.support.media import jpeg_bytes


def test_analyze_json_prints_one_object_per_file(tmp_path, capsys, transactional_db) -> None:
    paths = []
    for i in range(2):
        path = tmp_path / f"img{i}.jpg"
        path.write_bytes(jpeg_bytes(seed=50 + i))
        paths.append(str(path))
    call_command("analyze", *paths, "--json")
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [line["path"] for line in lines] == paths
    for line in lines:
        assert {"sha256", "media_type", "state", "verdict", "score", "detectors", "provenance"} <= line.keys()
        assert line["state"] == "done" and line["media_type"] == "image"


def test_analyze_exits_non_zero_with_a_one_line_reason(tmp_path, capsys, transactional_db) -> None:
    good, bad = tmp_path / "ok.jpg", tmp_path / "broken.jpg"
    good.write_bytes(jpeg_bytes())
    bad.write_bytes(jpeg_bytes()[:200])
    with pytest.raises(SystemExit) as exit_info:
        call_command("analyze", str(good), str(bad), "--json")
    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    assert len(captured.out.strip().splitlines()) == 1
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {bad}: The image is truncated or corrupt (image file is truncated (1 bytes not processed))."] or (
        len(errors) == 1 and "truncated or corrupt" in errors[0]
    )


def test_analyze_text(capsys, transactional_db) -> None:
    call_command("analyze", "--text", "A sentence typed by a human.", "--json")
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
