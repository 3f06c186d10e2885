"""The type checker's scope (pyproject.toml [tool.mypy], run by scripts/test.sh): every `# type: ignore` left in
it names its error code and says why, so an ignore is a decision someone can revisit, not noise."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
IGNORE = re.compile(r"#\s*type:\s*ignore(?P<code>\[[a-z0-9, -]+\])?(?P<rest>.*)$")


def checked_files() -> list[Path]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["mypy"]
    excluded = [re.compile(pattern) for pattern in config.get("exclude", [])]
    files = []
    for entry in config["files"]:
        path = REPO / entry
        for file in ([path] if path.is_file() else sorted(path.rglob("*.py"))):
            relative = file.relative_to(REPO).as_posix()
            if not any(pattern.search(relative) for pattern in excluded):
                files.append(file)
    return files


def test_the_scope_is_what_the_config_says() -> None:
    files = {f.relative_to(REPO).as_posix() for f in checked_files()}
    assert "webapp/job_lifecycle.py" in files and "provenance/audit.py" in files and "detectors/base.py" in files
    assert not any(f.startswith("detectors/text/") for f in files)


def test_every_ignore_in_the_scope_has_a_code_and_a_reason() -> None:
    bare = []
    for path in checked_files():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = IGNORE.search(line)
            if match and not (match["code"] and re.match(r"\s*#\s*\S", match["rest"])):
                bare.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not bare, "a `# type: ignore[code]` needs `  # why` after it (or a fix):\n" + "\n".join(bare)
