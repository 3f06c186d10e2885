"""Rules that keep the suite passing on a slow, loaded machine, checked over the test sources themselves.

- Nothing time-dependent is computed at import or collection time (a webhook signature made while pytest
  collects is already minutes old when a long run reaches the test: ``sign(...)``, ``time.time()``).
- No fixed sleeps: a ``sleep(...)`` belongs inside a ``while`` loop that polls a condition up to a deadline
  (``tests.conftest.wait_for``, ``wait_until_stale``); a sleep sized for this machine is too short on a busier one.
- Browser tests never assert a snapshot of the page (``assert locator.is_visible()``): the page may not have
  caught up yet; Playwright's ``expect(...)`` waits for it.
"""
from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
# sign(...) (webhook signatures carry the time), time.time(), time.monotonic(), datetime.now(), timezone.now()
CLOCK_CALLS = {("", "sign"), ("time", "time"), ("time", "monotonic"), ("*", "now"), ("*", "utcnow")}
SNAPSHOTS = {"is_visible", "is_hidden", "is_checked", "is_enabled", "is_disabled", "is_editable"}


def _name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _reads_the_clock(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Name):
        return ("", func.id) in CLOCK_CALLS
    if isinstance(func, ast.Attribute):
        owner = func.value.id if isinstance(func.value, ast.Name) else ""
        return (owner, func.attr) in CLOCK_CALLS or ("*", func.attr) in CLOCK_CALLS
    return False


class _ImportTimeCalls(ast.NodeVisitor):
    """Calls evaluated when the module is imported: module body, decorators, default arguments."""

    def __init__(self) -> None:
        self.found: list[tuple[int, str]] = []

    def visit_Call(self, node: ast.Call) -> None:
        if _reads_the_clock(node):
            self.found.append((node.lineno, _name(node)))
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for expr in [*node.decorator_list, *node.args.defaults, *node.args.kw_defaults]:
            if expr is not None:
                self.visit(expr)  # the body runs later, at test time

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for expr in node.args.defaults:
            self.visit(expr)


def _sources(folder: Path = TESTS) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if p.name != Path(__file__).name)


def test_nothing_time_dependent_runs_at_collection() -> None:
    offenders = []
    for path in _sources():
        visitor = _ImportTimeCalls()
        visitor.visit(ast.parse(path.read_text(encoding="utf-8")))
        offenders += [f"{path.relative_to(TESTS)}:{line} {name}()" for line, name in visitor.found]
    assert not offenders, "computed at import/collection time; move it into the test: " + ", ".join(offenders)


def _fixed_sleeps(tree: ast.AST) -> list[int]:
    """Lines of ``sleep(...)`` calls with no ``while`` loop around them."""
    found: list[int] = []

    def visit(node: ast.AST, in_loop: bool) -> None:
        if isinstance(node, ast.Call) and _name(node) == "sleep" and not in_loop:
            found.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child, in_loop or isinstance(node, ast.While))

    visit(tree, False)
    return found


def test_no_fixed_sleeps() -> None:
    offenders = []
    for path in _sources():
        offenders += [f"{path.relative_to(TESTS)}:{line}" for line in _fixed_sleeps(ast.parse(path.read_text("utf-8")))]
    assert not offenders, "poll the condition with a deadline (tests.conftest.wait_for) instead of: " + ", ".join(
        offenders)


def test_browser_assertions_wait_instead_of_snapshotting() -> None:
    offenders = []
    for path in _sources(TESTS / "browser"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assert):
                calls = {_name(c) for c in ast.walk(node.test) if isinstance(c, ast.Call)} & SNAPSHOTS
                offenders += [f"{path.relative_to(TESTS)}:{node.lineno} {name}()" for name in sorted(calls)]
    assert not offenders, "use playwright's expect(locator).to_be_...() instead of: " + ", ".join(offenders)
