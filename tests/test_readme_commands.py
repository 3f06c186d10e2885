"""Every ``manage.py`` command the README shows exists, builds its parser and answers ``--help``; every option
the README passes to it is one the command knows."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_invocations() -> dict[tuple[str, ...], set[str]]:
    """{(command, leading words): options the README passes}, with shell line continuations joined. The leading
    words are sub-commands (``generate sample gan``) or paths; both are passed on before ``--help``."""
    text = README.read_text(encoding="utf-8").replace("\\\n", " ")
    found: dict[tuple[str, ...], set[str]] = {}
    for match in re.finditer(r"manage\.py ([a-z_]+)([^\n`|#]*)", text):
        rest = match.group(2)
        words = tuple(w for w in rest.split("--", 1)[0].split() if re.fullmatch(r"[a-z_]+", w))
        found.setdefault((match.group(1), *words), set()).update(re.findall(r"(?<![\w-])--[a-z][\w-]*", rest))
    return found


COMMANDS = _readme_invocations()


def test_the_readme_shows_commands() -> None:
    assert {"analyze", "train_detector", "export_report", "create_api_key"} <= {words[0] for words in COMMANDS}


@pytest.mark.parametrize("words", sorted(COMMANDS), ids=" ".join)
def test_readme_command_answers_help(words: tuple[str, ...], capsys) -> None:  # type: ignore[no-untyped-def]
    """Through ``ManagementUtility``, the path ``manage.py`` takes (commands that hand their arguments to
    another parser, like ``generate``, are covered too)."""
    from django.core.management import ManagementUtility

    with pytest.raises(SystemExit) as exited:
        ManagementUtility(["manage.py", *words, "--help"]).execute()
    assert exited.value.code == 0
    usage = capsys.readouterr().out
    assert usage.startswith("usage: ")
    missing = sorted(option for option in COMMANDS[words] if option not in usage)
    assert not missing, f"the README passes {missing} to manage.py {' '.join(words)}, which does not know them"
