"""The rooms' import arrows: no cycles (type-only imports included), and no room imports one above it."""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "db")

# What a room must never import: the rooms above it, and Telegram for the business rules.
FORBIDDEN = {
    "db": ("bot",),
    "bot.services": (
        "telegram",
        "bot.handlers",
        "bot.render",
        "bot.web",
        "bot.support",
        "bot.sandbox",
        "bot.delivery",
        "bot.telegram_app",
        "bot.telegram_send",
        "bot.telegram_http",
        "bot.telegram_jobs",
        "bot.composition",
        "bot.wiring",
        "bot.config",
        "bot.cli",
        "bot.demo",
        "bot.jobs",
        "bot.background",
        "bot.connectors",
    ),
    "bot.render": ("bot.handlers", "bot.web", "bot.support", "bot.delivery", "bot.telegram_app", "bot.wiring"),
    "bot.handlers": ("bot.web", "bot.telegram_app", "bot.cli", "bot.demo"),
    "bot.sandbox": ("bot.handlers", "bot.services", "bot.web", "bot.render", "bot.demo"),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")}


def _imports(name: str, path: Path, known: dict[str, Path]) -> Iterator[str]:
    """Every module of ours that `path` imports, wherever in the file the import stands."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        yield from (target for target in targets if target.split(".")[0] in PACKAGES + ("telegram",))


def _graph() -> dict[str, set[str]]:
    known = _modules()
    return {name: set(_imports(name, path, known)) for name, path in known.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), or a module importing itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in graph:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_the_services_and_their_imports() -> None:
    graph = _graph()
    assert "bot.services.backorders.cancel" in graph
    assert "bot.services.unit_of_work" in graph["bot.services.backorders.cancel"]


def test_no_modules_import_each_other_in_a_circle() -> None:
    assert _cycles(_graph()) == []


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_no_room_imports_a_room_above_it(room: str) -> None:
    wrong = {
        f"{name} imports {target}"
        for name, targets in _graph().items()
        if name == room or name.startswith(room + ".")
        for target in targets
        if any(target == above or target.startswith(above + ".") for above in FORBIDDEN[room])
    }
    assert sorted(wrong) == []
