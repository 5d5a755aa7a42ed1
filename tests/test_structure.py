"""The package's shape: modules import one another without a cycle, and the layers below
the stages do not reach up into them."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "lib" / "facelrp"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The package modules `path` imports, at module level or deferred into a function (a
    deferred import hides a cycle from Python, not from a reader)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                found.add(candidate if candidate in modules else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in modules and m != name}


def _graph() -> dict[str, set[str]]:
    paths = list(PACKAGE.rglob("*.py"))
    modules = {_module_name(p) for p in paths}
    return {_module_name(p): _imports(p, modules) for p in paths}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for other in sorted(graph.get(node, ())):
            if state.get(other) == "open":
                return stack[stack.index(other):] + [other]
            if other not in state and (found := visit(other)):
                return found
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_package_has_no_import_cycle():
    graph = _graph()
    assert len(graph) > 40 and "facelrp.stages.masking" in graph
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_the_cycle_finder_finds_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_only_the_command_line_and_the_stages_import_the_stages():
    graph = _graph()
    users = {m for m, imports in graph.items() if any(i.startswith("facelrp.stages") for i in imports)}
    assert users <= {"facelrp.__main__"} | {m for m in graph if m.startswith("facelrp.stages")}


def test_the_compared_methods_and_fills_are_declared_once_and_everything_iterates_them(tmp_path):
    from facelrp import pipeline
    from facelrp.artifacts import Results
    from facelrp.evaluate import conclusions
    from facelrp.explain import relevance
    from facelrp.profiles import load_profile

    assert all(name in relevance.METHODS or name == relevance.RANDOM for name in pipeline.METHODS)
    assert [m.name for m in pipeline.METHODS.values() if m.floor] == [relevance.RANDOM]
    labels = [pipeline.PAPER_METHOD.label, *(m.label for m in pipeline.METHODS.values()),
              *(f.label for f in (pipeline.PAPER_FILL, *pipeline.FILLS.values()))]
    assert len(set(labels)) == len(labels)  # one column each in the summary and robustness tables
    profile = load_profile("smoke")
    results = Results(profile, tmp_path)
    jobs = {job.name for job in pipeline.cached_jobs(profile, results)}
    robust = set(pipeline.pages(profile, results)["robust"].reads)
    for name in pipeline.METHODS:
        assert {f"maps-{name}", f"masking-method-{name}"} <= jobs
        assert results.masking(f"method-{name}") in robust
    for name in pipeline.FILLS:
        assert f"masking-{name}" in jobs and results.masking(name) in robust
    # the summary: every compared method but the floor, every fill in the paper's order, the floor beside
    assert set(conclusions.RUNS.values()) >= {f"method-{m.name}" for m in pipeline.METHODS.values() if not m.floor}
    assert conclusions.RANDOM_MAPS == pipeline.METHODS[relevance.RANDOM].label
    assert conclusions.RANDOM_MAPS_RUN == f"method-{relevance.RANDOM}"
