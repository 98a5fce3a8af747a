"""Print the figures of services/'s layout (issue 12): modules per room, direct import arrows
between services modules (grimp), arrows from a lower layer to a higher one, the modules that
define exception classes, and the longest functions.
`uv run python -m scripts.layout_figures`
"""

import ast
from collections import Counter
from pathlib import Path

import grimp

LAYERS = ("cli", "ops", "runtime", "app", "observability", "intake", "rounds", "outbound")
"""The layers contract inside services, top first; nats, store and sample are the floor."""


def room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 else "(top level)"


def layer(module: str) -> int:
    name = module.split(".")[1] if "." in module else ""
    return LAYERS.index(name) if name in LAYERS else len(LAYERS)


def main() -> None:
    graph = grimp.build_graph("services", "contracts", "matching")
    modules = sorted(m for m in graph.modules if m.startswith("services."))
    files = [m for m in modules if "migrations" not in m and not _is_package(m)]
    print(f"modules (no __init__, no migrations): {len(files)}")
    for name, n in sorted(Counter(room(m) for m in files).items()):
        print(f"  {name:16} {n}")
    arrows = [(a, b) for a in modules for b in graph.find_modules_directly_imported_by(a)
              if b.startswith("services.")]  # fmt: skip
    print(f"import arrows between services modules: {len(arrows)}")
    upward = [(a, b) for a, b in arrows if layer(b) < layer(a)]
    print(f"arrows from a lower layer to a higher one: {len(upward)}")
    raising = sorted({str(p) for p in Path("services").rglob("*.py") if _defines_exception(p)})
    print(f"services modules defining exceptions: {len(raising)} ({', '.join(raising)})")
    print("longest functions (lines):")
    for lines, where in _longest(10):
        print(f"  {lines:4} {where}")


def _is_package(module: str) -> bool:
    return Path(*module.split("."), "__init__.py").is_file()


def _defines_exception(path: Path) -> bool:
    tree = ast.parse(path.read_text())
    return any(
        isinstance(n, ast.ClassDef)
        and any(getattr(b, "id", getattr(b, "attr", "")).endswith(("Error", "Exception"))
                or getattr(b, "id", "") in {"ContractError", "ValueError", "RuntimeError"}
                for b in n.bases)
        for n in ast.walk(tree)
    )  # fmt: skip


def _longest(k: int) -> list[tuple[int, str]]:
    rows = []
    for path in Path("services").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno:
                rows.append((node.end_lineno - node.lineno + 1, f"{path}:{node.name}"))
    return sorted(rows, reverse=True)[:k]


if __name__ == "__main__":
    main()
