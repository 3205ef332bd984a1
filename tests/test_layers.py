"""The code's shape, read from its imports: layers are crossed once, downward.

    assets and wiring → services (scan, plan, library) → stores (SQL only) and the
    disk and TIDAL I/O → pure core (naming, matching, layout, planning, reports)

A module imports nothing from a layer above its own; the pure core imports no
SQLAlchemy, Dagster or tidalapi; the stores import, from outside the database
package, only the core's data types (no function: no scanning, matching or
deciding), and no SQL is written outside them; nothing below the assets imports
Dagster. Asset bodies stay thin and planning keeps no state in a module global.

    .venv/bin/pytest tests/test_layers.py -q
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

import tidal_sync_assets

PACKAGE = Path(tidal_sync_assets.__file__).parent
WIRING, SERVICES, STORES_AND_IO, CORE = 3, 2, 1, 0

# The pure core; every module not named here or below is in the layer of its package.
CORE_MODULES = {
    "report",
    "settings",
    "dj.keys",
    "dj.rekordbox",
    "dj.tags",
    "disk.entry",
    "disk.match",
    "disk.naming",
    "disk.report",
    "tidal.snapshot",
    "tidal.report",
}
LAYER_OF_PACKAGE = {
    "assets": WIRING,
    "defs": WIRING,  # resources, checks, jobs, partitions, schedules, sensors
    "cli": WIRING,  # the command line and its in-process sync
    "sandbox": WIRING,  # the stand-in TIDAL server, a tool beside the product
    "services": SERVICES,
    "library": SERVICES,
    "dj": SERVICES,  # the Rekordbox export; its key and XML rules are core
    "database": STORES_AND_IO,
    "disk": STORES_AND_IO,
    "tidal": STORES_AND_IO,
    "progress": STORES_AND_IO,  # the counters the fetch and the executor report into: a log sink
    "planning": CORE,
}
NAMES = {WIRING: "wiring", SERVICES: "services", STORES_AND_IO: "stores and I/O", CORE: "core"}


def _modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text(encoding="utf-8"))
    return found


MODULES = _modules()


def layer(module: str) -> int:
    if module in CORE_MODULES:
        return CORE
    package = module.partition(".")[0]
    # Top-level modules (definitions, checks, sensors, cli, sync, ...) are wiring.
    return LAYER_OF_PACKAGE.get(package, WIRING)


def imports(tree: ast.Module) -> list[tuple[str, tuple[str, ...]]]:
    """(module, names) of every import, inside functions too, as absolute names."""
    found: list[tuple[str, tuple[str, ...]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, tuple(alias.name for alias in node.names)))
    return found


def own(module: str, names: tuple[str, ...]) -> list[str]:
    """The package's modules an import reaches (``from package import module`` too)."""
    prefix = "tidal_sync_assets"
    if module != prefix and not module.startswith(prefix + "."):
        return []
    inner = module.removeprefix(prefix).removeprefix(".")
    submodules = [f"{inner}.{n}".strip(".") for n in names if f"{inner}.{n}".strip(".") in MODULES]
    return submodules or [inner]


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    climbs = [
        f"{module} ({NAMES[layer(module)]}) imports {target} ({NAMES[layer(target)]})"
        for module, tree in MODULES.items()
        for imported, names in imports(tree)
        for target in own(imported, names)
        if layer(target) > layer(module)
    ]
    assert climbs == []


@pytest.mark.parametrize("library", ["sqlalchemy", "dagster", "tidalapi"])
def test_the_pure_core_imports_no_database_dagster_or_tidal_client(library: str) -> None:
    found = [
        module
        for module, tree in MODULES.items()
        if layer(module) == CORE
        for imported, _ in imports(tree)
        if imported == library or imported.startswith(library + ".")
    ]
    assert found == []


def test_nothing_below_the_assets_imports_dagster() -> None:
    found = [
        module
        for module, tree in MODULES.items()
        if layer(module) < WIRING
        for imported, _ in imports(tree)
        if imported == "dagster" or imported.startswith("dagster.")
    ]
    assert found == []


def test_every_sql_statement_lives_in_a_store() -> None:
    """Outside ``database`` SQLAlchemy is only the ``Engine`` handed to the stores (and
    the ``Row``s a store hands back)."""
    found = [
        f"{module}: {imported} {names}"
        for module, tree in MODULES.items()
        if not module.startswith("database")
        for imported, names in imports(tree)
        if (imported == "sqlalchemy" or imported.startswith("sqlalchemy."))
        and set(names) - {"Engine", "Row"}
    ]
    assert found == []


def test_stores_import_only_the_cores_data_types() -> None:
    """A store reads and writes rows: from outside ``database`` it takes types and
    constants of the pure core, never a function, and nothing of the disk or TIDAL I/O."""
    wrong = []
    for module, tree in MODULES.items():
        if not module.startswith("database"):
            continue
        for imported, names in imports(tree):
            for target in own(imported, names):
                if target.startswith("database"):
                    continue
                if layer(target) != CORE:
                    wrong.append(f"{module} imports {target}")
                    continue
                source = importlib.import_module(f"tidal_sync_assets.{target}")
                wrong += [
                    f"{module} imports the function {target}.{name}"
                    for name in names
                    if inspect.isfunction(getattr(source, name, None))
                ]
    assert wrong == []


def test_the_layering_test_sees_a_climb() -> None:
    """The checks above would catch the shapes this renovation removed."""
    store = ast.parse("from tidal_sync_assets.disk.match import match_entries")
    assert [t for m, n in imports(store) for t in own(m, n)] == ["disk.match"]
    asset = ast.parse("from tidal_sync_assets.database import plan_store, scan_store")
    assert [t for m, n in imports(asset) for t in own(m, n)] == [
        "database.plan_store",
        "database.scan_store",
    ]
    assert layer("database.plan_store") > layer("planning.layout")
    assert layer("assets.planning") > layer("services.plan") > layer("database.plan_store")
    assert inspect.isfunction(importlib.import_module("tidal_sync_assets.disk.match").match_entries)


def _decorated_with(node: ast.FunctionDef, names: set[str]) -> bool:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Name) and target.id in names:
            return True
    return False


def test_asset_and_check_bodies_are_thin() -> None:
    """Each asset and check calls a service, persists through a store and hands a
    report builder its rows: about 30 lines of body, no more."""
    long = {}
    for module, tree in MODULES.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and _decorated_with(
                node, {"asset", "asset_check", "sensor", "run_failure_sensor", "schedule"}
            ):
                body = node.body[1:] if ast.get_docstring(node) else node.body
                lines = (body[-1].end_lineno or 0) - body[0].lineno + 1
                if lines > 35:
                    long[f"{module}.{node.name}"] = lines
    assert long == {}


def _is_state(node: ast.stmt) -> bool:
    """A module-level container that is not a constant table: named in lower case, or
    empty (a table is never empty), or made by calling ``dict()``, ``defaultdict()``..."""
    if isinstance(node, ast.Assign):
        targets, value = node.targets, node.value
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        targets, value = [node.target], node.value
    else:
        return False
    names = [t.id for t in targets if isinstance(t, ast.Name)]
    displays = (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)
    makers = {"dict", "list", "set", "defaultdict", "OrderedDict", "Counter", "deque"}
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        return value.func.id in makers
    if not isinstance(value, displays):
        return False
    empty = isinstance(value, ast.Dict | ast.List | ast.Set) and not getattr(
        value, "keys", getattr(value, "elts", None)
    )
    return empty or any(not name.lstrip("_").isupper() for name in names)


def test_planning_keeps_no_state_in_module_globals() -> None:
    """What a planning step reuses is passed in (``services.plan.DiffMemo``), never
    left in a module global of planning, the services or the assets."""
    found = [
        f"{module}:{node.lineno}"
        for module, tree in MODULES.items()
        if module.startswith(("planning", "services", "assets"))
        for node in tree.body
        if _is_state(node)
    ]
    assert found == []
    # The shape the renovation removed from assets/planning.py is caught:
    removed = "_computed: dict[tuple[str, int], tuple[int, int]] = {}"
    assert _is_state(ast.parse(removed).body[0])
