"""The workspace's package structure: the learning core imports no ROS, the runtime depends on no node
package, nothing outside rig_policy imports rig_policy, package.xml declares every workspace package a
package imports and the declared dependencies have no cycle, and every node's main runs on the shared
runner (rig_runtime.node_runner.run_node)."""

from __future__ import annotations

import ast
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "ros2_ws" / "src"
PACKAGES = sorted(p.name for p in SRC.iterdir() if (p / "package.xml").is_file())
PYTHON_PACKAGES = [p for p in PACKAGES if (SRC / p / p / "__init__.py").is_file()]
NODE_PACKAGES = {"rig_perception", "rig_policy", "rig_trainer", "sawyer_sim", "rig_bringup"}
ROS_MODULES = {"rclpy", "rcl_interfaces", "builtin_interfaces", "sensor_msgs", "geometry_msgs", "std_msgs",
               "rosgraph_msgs", "rig_interfaces", "ament_index_python", "launch", "launch_ros"}


def _modules(package: str) -> list[Path]:
    return sorted((SRC / package / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    """Top-level names of every module `path` imports (module level and inside functions)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _declared(package: str) -> set[str]:
    root = ET.parse(SRC / package / "package.xml").getroot()
    tags = ("depend", "exec_depend", "build_depend")
    return {e.text.strip() for tag in tags for e in root.iter(tag) if e.text}


def test_the_workspace_has_the_runtime_and_bringup_packages():
    assert {"rig_core", "rig_runtime", "rig_bringup", "rig_perception", "rig_policy", "rig_trainer",
            "sawyer_sim", "rig_interfaces"} <= set(PACKAGES)


def test_the_learning_core_imports_no_ros():
    forbidden = ROS_MODULES | (NODE_PACKAGES - {"sawyer_sim"}) | {"rig_runtime"}  # the envs of sawyer_sim are plain
    offenders = {str(p.relative_to(SRC)): sorted(_imports(p) & forbidden)
                 for p in _modules("rig_core")}
    assert not {k: v for k, v in offenders.items() if v}


def test_the_sim_envs_import_no_ros():
    envs = [p for p in _modules("sawyer_sim") if p.stem != "sim_node"]
    assert not {str(p.relative_to(SRC)): sorted(_imports(p) & ROS_MODULES) for p in envs if _imports(p) & ROS_MODULES}


def test_the_runtime_depends_on_no_node_package():
    offenders = {str(p.relative_to(SRC)): sorted(_imports(p) & NODE_PACKAGES) for p in _modules("rig_runtime")}
    assert not {k: v for k, v in offenders.items() if v}
    assert not _declared("rig_runtime") & NODE_PACKAGES


@pytest.mark.parametrize("package", sorted(set(PYTHON_PACKAGES) - {"rig_policy"}))
def test_nothing_outside_rig_policy_imports_it(package):
    assert not [str(p.relative_to(SRC)) for p in _modules(package) if "rig_policy" in _imports(p)]


@pytest.mark.parametrize("package", PYTHON_PACKAGES)
def test_package_xml_declares_every_workspace_package_it_imports(package):
    imported = set().union(*(_imports(p) for p in _modules(package))) & (set(PACKAGES) - {package})
    assert imported <= _declared(package), f"{package} imports {sorted(imported - _declared(package))} undeclared"


def test_the_declared_dependencies_have_no_cycle():
    graph = {p: _declared(p) & set(PACKAGES) for p in PACKAGES}
    state: dict[str, str] = {}

    def visit(package: str, path: list[str]) -> None:
        if state.get(package) == "done":
            return
        assert state.get(package) != "open", f"dependency cycle: {' -> '.join([*path, package])}"
        state[package] = "open"
        for dep in sorted(graph[package]):
            visit(dep, [*path, package])
        state[package] = "done"

    for package in PACKAGES:
        visit(package, [])


def _node_modules() -> list[Path]:
    return [p for package in NODE_PACKAGES for p in _modules(package) if p.stem.endswith("_node")]


@pytest.mark.parametrize("path", _node_modules(), ids=lambda p: p.stem)
def test_every_node_runs_on_the_shared_runner(path):
    tree = ast.parse(path.read_text())
    mains = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main"]
    assert mains, f"{path.name} has no main()"
    calls = {n.func.id for n in ast.walk(mains[0]) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert "run_node" in calls, f"{path.name}: main() does not call run_node"
    assert "rig_runtime.node_runner" in {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not {"SingleThreadedExecutor", "MultiThreadedExecutor"} & {
        getattr(n, "id", getattr(n, "attr", "")) for n in ast.walk(tree)}, f"{path.name} spins its own executor"
