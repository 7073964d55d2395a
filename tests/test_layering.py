"""The import graph of nas/, read with `ast` (no module is imported), checked against the README's Layout.

Rules:
1. Layers (README "Layout"): top-level shared modules <- space <- models <- data/train <- samplers/cluster <-
   search/evaluation <- analysis <- cli. No module imports (at its top or inside a function) a module of a higher
   layer; samplers import space and the shared modules only. A registry's `discover=` packages (imported on its
   first lookup) count as imports of the module that makes the registry.
2. No cycle among modules through top-level imports (function-level ones run after every module has loaded).
3. Ray is imported in nas/cluster only, except for the names in RAY_OUTSIDE_CLUSTER: what search/evaluation hand
   to the one Tune call (nas.cluster.tune_trials.fit) or run inside a trial. That is: the trial functions report
   with `tune.report` (candidate_trial also reads its node's address), the searcher adapter subclasses Tune's
   `Searcher`, the search picks its scheduler (ASHA or FIFO), and the job runner gives `tune.grid_search` and a
   `tune.Callback` for the rows. Starting Ray, `tune.Tuner`, `tune.with_parameters`, `tune.with_resources` and
   Tune's configs stay in nas/cluster.
4. Both Tune runs, a search's (nas/search/tune_run.py, from run_search.py) and a campaign's
   (nas/evaluation/job_runner.py, from `nas compare` and `nas transfer`), go through nas.cluster.tune_trials.
5. Every import inside a function has a comment saying why (start-up time, a dependency the caller never
   needs, an optional dependency, a real cycle) on its line, the line above, or in its block of imports.
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "nas"

# The README's layer list, bottom first. Modules at nas/ top level (errors, registry, atomic_files, ...) are layer 0.
LAYERS = {
    "space": 1, "search_spaces": 1,
    "models": 2,
    "data": 3, "train": 3, "zero_cost": 3,
    "samplers": 4, "cluster": 4,
    "search": 5, "evaluation": 5, "bench": 5,
    "analysis": 6,
    "cli": 7,
}
# Packages held below their layer: they may import only these packages (and the top-level modules).
ONLY_IMPORTS = {"samplers": {"samplers", "space"}}
# Upward imports allowed anyway, (module, imported module): reason.
LAYER_EXCEPTIONS: dict[tuple[str, str], str] = {
    ("nas.space.op_registry", "nas.models.ops"):
        "the op-name registry sits in space, so spaces and genotypes check op names without torch; on its first "
        "lookup it imports the ops' package (torch modules), where every op registers itself",
}

RAY_OUTSIDE_CLUSTER = {
    "ray.tune.report": {"nas.search.candidate_trial", "nas.evaluation.job_trial"},
    "ray.util.get_node_ip_address": {"nas.search.candidate_trial"},
    "ray.tune.search.Searcher": {"nas.search.tune_searcher"},
    "ray.tune.schedulers.ASHAScheduler": {"nas.search.tune_run"},
    "ray.tune.schedulers.FIFOScheduler": {"nas.search.tune_run"},
    "ray.tune.grid_search": {"nas.evaluation.job_runner"},
    "ray.tune.Callback": {"nas.evaluation.job_runner"},
}

# Files whose function-level imports are not yet reviewed (none left): a file put here is skipped by rule 5.
UNREVIEWED_FUNCTION_IMPORTS: set[str] = set()


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    path: str  # its file, relative to the repository
    line: int
    end_line: int
    target: str  # the module imported (for `from X import Y`: X.Y when that is a module, else X)
    names: tuple[str, ...]  # for `from X import a, b`: a, b
    in_function: bool
    type_checking: bool  # under `if TYPE_CHECKING:`
    discovered: bool = False  # not an import statement: a Registry(discover=...) package, imported on first lookup


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


MODULES = all_modules()


def imports_of(module: str, path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(), str(path))
    found: list[Import] = []
    relative = str(path.relative_to(ROOT))

    def visit(node: ast.AST, in_function: bool, type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    found.append(Import(module, relative, child.lineno, child.end_lineno, alias.name, (),
                                        in_function, type_checking))
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                    base = base[:len(base) - child.level + 1]
                    source = ".".join(base + ([child.module] if child.module else []))
                else:
                    source = child.module or ""
                names = tuple(alias.name for alias in child.names)
                submodules = [f"{source}.{name}" for name in names if f"{source}.{name}" in MODULES]
                for target in submodules or [source]:
                    found.append(Import(module, relative, child.lineno, child.end_lineno, target, names, in_function,
                                        type_checking))
            elif isinstance(child, ast.Call) and getattr(child.func, "id", None) == "Registry":
                # A registry imports the modules of its `discover` packages on its first lookup: an import edge
                # too, made at run time (so it is checked against the layers, not for cycles or comments).
                for keyword in child.keywords:
                    if keyword.arg == "discover" and isinstance(keyword.value, ast.Tuple):
                        for element in keyword.value.elts:
                            found.append(Import(module, relative, child.lineno, child.end_lineno, element.value, (),
                                                True, False, discovered=True))
                visit(child, in_function, type_checking)
            else:
                visit(child,
                      in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)),
                      type_checking or (isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test)))

    visit(tree, False, False)
    return found


IMPORTS = [found for module, path in MODULES.items() for found in imports_of(module, path)]


def package_of(module: str) -> str | None:
    """The layer package of a nas module (None for the top-level shared modules and `nas` itself)."""
    parts = module.split(".")
    if parts[0] != "nas" or len(parts) < 2:
        return None
    if parts[1] == "__main__":
        return "cli"  # `python -m nas` is the `nas` command
    return parts[1] if parts[1] in LAYERS else None


def layer_of(module: str) -> int:
    package = package_of(module)
    return LAYERS[package] if package else 0


def nas_imports() -> list[Import]:
    return [found for found in IMPORTS if found.target == "nas" or found.target.startswith("nas.")]


def test_every_package_has_a_layer():
    packages = {path.relative_to(PACKAGE).parts[0] for path in PACKAGE.rglob("*.py") if path.parent != PACKAGE}
    assert packages - set(LAYERS) == set(), "a package of nas/ missing from LAYERS (and the README's Layout)"


def test_no_module_imports_a_layer_above_its_own():
    offending = []
    for found in nas_imports():
        importer, imported = package_of(found.module), package_of(found.target)
        upward = layer_of(found.target) > layer_of(found.module)
        outside = importer in ONLY_IMPORTS and imported is not None and imported not in ONLY_IMPORTS[importer]
        if (upward or outside) and (found.module, found.target) not in LAYER_EXCEPTIONS:
            offending.append(f"{found.path}:{found.line}: {found.module} (layer {layer_of(found.module)}) imports "
                             f"{found.target} (layer {layer_of(found.target)})"
                             + (" inside a function" if found.in_function else ""))
    assert not offending, "imports against the layers:\n" + "\n".join(offending)


def test_layer_exceptions_are_still_needed():
    edges = {(found.module, found.target) for found in nas_imports()}
    assert set(LAYER_EXCEPTIONS) <= edges, f"stale LAYER_EXCEPTIONS: {set(LAYER_EXCEPTIONS) - edges}"


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for successor in sorted(graph.get(node, ())):
            if state.get(successor) == 1:
                return path[path.index(successor):] + [successor]
            if successor not in state and (cycle := visit(successor)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_find_cycle_reports_the_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_cycle_through_top_level_imports():
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    lines: dict[tuple[str, str], str] = {}
    for found in nas_imports():
        if not found.in_function and not found.type_checking and found.target in MODULES \
                and found.target != found.module:
            graph[found.module].add(found.target)
            lines.setdefault((found.module, found.target), f"{found.path}:{found.line}")
    cycle = find_cycle(graph)
    assert cycle is None, "a cycle of top-level imports:\n" + "\n".join(
        f"{lines[(a, b)]}: {a} imports {b}" for a, b in zip(cycle, cycle[1:]))


def ray_names_used(module: str, path: Path) -> dict[str, int]:
    """The Ray names a module uses (`ray.tune.report`, ...), with a line of each: from-imported names, and
    attributes read from an imported Ray module (`tune.report` after `from ray import tune`)."""
    tree = ast.parse(path.read_text(), str(path))
    bound: dict[str, str] = {}  # local name -> the Ray module or name it stands for
    used: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "ray":
                    bound[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else "ray"
        elif isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").split(".")[0] == "ray":
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    inner_attributes = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and id(node) not in inner_attributes:
            chain, inner = [node.attr], node.value
            while isinstance(inner, ast.Attribute):
                inner_attributes.add(id(inner))
                chain.append(inner.attr)
                inner = inner.value
            chain.reverse()
            if not isinstance(inner, ast.Name) or bound.get(inner.id) not in ("ray", "ray.tune", "ray.util"):
                continue
            full = [*bound[inner.id].split("."), *chain]
            # ray.X, or ray.tune.X / ray.util.X: the name used, not the attributes of what it returns.
            size = 3 if len(full) > 2 and full[1] in ("tune", "util") else 2
            used.setdefault(".".join(full[:size]), node.lineno)
        elif isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").split(".")[0] == "ray":
            for alias in node.names:
                target = f"{node.module}.{alias.name}"
                if target not in ("ray.tune", "ray.util"):  # a module: its attributes are what is used
                    used.setdefault(target, node.lineno)
    return used


def test_ray_and_tune_only_through_nas_cluster():
    offending = []
    for module, path in MODULES.items():
        if package_of(module) == "cluster":
            continue
        for name, line in sorted(ray_names_used(module, path).items()):
            if module not in RAY_OUTSIDE_CLUSTER.get(name, ()):
                offending.append(f"{path.relative_to(ROOT)}:{line}: {module} uses {name}")
        for found in IMPORTS:
            if found.module == module and found.target.split(".")[0] == "ray" and package_of(module) not in (
                    "search", "evaluation"):
                offending.append(f"{found.path}:{found.line}: {module} imports {found.target}")
    assert not offending, "Ray used outside nas/cluster beyond RAY_OUTSIDE_CLUSTER:\n" + "\n".join(offending)


def test_ray_names_used_sees_tune_calls():
    source = PACKAGE / "cluster" / "tune_trials.py"
    used = ray_names_used("nas.cluster.tune_trials", source)
    assert {"ray.tune.Tuner", "ray.tune.with_parameters", "ray.tune.logger.CSVLoggerCallback"} <= set(used)
    used = ray_names_used("nas.search.candidate_trial", PACKAGE / "search" / "candidate_trial.py")
    assert {"ray.tune.report", "ray.util.get_node_ip_address"} <= set(used)


def test_search_and_campaigns_run_trials_through_cluster_tune_trials():
    for module in ("nas.search.tune_run", "nas.evaluation.job_runner"):
        targets = {found.target for found in IMPORTS if found.module == module and not found.in_function}
        assert "nas.cluster.tune_trials" in targets, f"{module} does not import nas.cluster.tune_trials"
        names = {name for found in IMPORTS if found.module == module and found.target == "nas.cluster.tune_trials"
                 for name in found.names}
        assert "fit" in names, f"{module} does not run its trials with nas.cluster.tune_trials.fit"


def comment_lines(path: Path) -> set[int]:
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
    return {token.start[0] for token in tokens if token.type == tokenize.COMMENT}


def unreviewed(path: str) -> bool:
    return any(path == entry or (entry.endswith("/") and path.startswith(entry))
               for entry in UNREVIEWED_FUNCTION_IMPORTS)


def test_every_function_level_import_says_why():
    missing = []
    for path in sorted({found.path for found in IMPORTS if found.in_function and not found.discovered and not unreviewed(found.path)}):
        source = (ROOT / path).read_text().splitlines()
        comments = comment_lines(ROOT / path)
        in_file = [found for found in IMPORTS if found.path == path and found.in_function and not found.discovered]
        import_lines = {line for found in in_file for line in range(found.line, found.end_line + 1)}

        def in_block(line: int) -> bool:  # an import line, or a blank or comment line between imports
            text = source[line - 1].strip() if 0 < line <= len(source) else None
            return line in import_lines or text == "" or (text or "").startswith("#")

        for found in in_file:
            first, last = found.line, found.end_line
            while in_block(first - 1) and first - 1 > 0:
                first -= 1
            while in_block(last + 1) and last + 1 <= len(source):
                last += 1
            block = set(range(first - 1, last + 1))  # the block, and the line above it (`try:  # why`)
            if not block & comments:
                missing.append(f"{path}:{found.line}: import of {found.target} inside a function, with no comment")
    assert not missing, ("say why each of these stays inside its function (start-up time, a dependency its "
                         "callers never need, an optional dependency, a cycle), or move it to the top:\n"
                         + "\n".join(sorted(set(missing))))


def test_unreviewed_files_exist():
    for entry in UNREVIEWED_FUNCTION_IMPORTS:
        assert (ROOT / entry).exists(), f"UNREVIEWED_FUNCTION_IMPORTS names {entry}, which is gone"
