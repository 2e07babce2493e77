"""The node graph, described once in YAML (launch/*.yaml), read by the launch files and by `bringup`.

    parameters: {use_sim_time: true}          # given to every node (optional)
    nodes:
      - package: rig_policy
        executable: policy_node
        name: policy_node                      # optional, defaults to the executable
        parameters: [rig_policy:config/policy_node.yaml, {kp: 0.5}]   # files (pkg:relative) and dicts
        remappings: {/perception/latent: /perception/latent}
        respawn: false
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass
class NodeSpec:
    package: str
    executable: str
    name: str
    parameters: list[str | dict[str, Any]] = field(default_factory=list)
    remappings: dict[str, str] = field(default_factory=dict)
    respawn: bool = False
    namespace: str = ""  # e.g. /arm0 (rig_runtime.arms); "" = the root namespace

    @property
    def full_name(self) -> str:
        """The node's name with its namespace, e.g. arm0/policy_node: unique within a graph."""
        return f"{self.namespace.strip('/')}/{self.name}" if self.namespace else self.name


@dataclass
class Graph:
    path: Path
    nodes: list[NodeSpec]

    def node(self, name: str) -> NodeSpec:
        for spec in self.nodes:
            if name in (spec.name, spec.full_name):
                return spec
        raise KeyError(f"no node {name!r} in {self.path} (nodes: {', '.join(n.name for n in self.nodes)})")


def load_graph(path: str | Path, overrides: dict[str, dict[str, Any]] | None = None) -> Graph:
    """Parse a graph file; `overrides` {node name: {param: value}} are appended as the last parameters."""
    path = Path(path).resolve()
    data = yaml.safe_load(path.read_text()) or {}
    common = dict(data.get("parameters") or {})
    known = {"package", "executable", "name", "parameters", "remappings", "respawn"}
    nodes = []
    for entry in data.get("nodes") or []:
        unknown = set(entry) - known
        if unknown or "package" not in entry or "executable" not in entry:
            raise ValueError(f"{path}: bad node entry {entry!r} (keys: package, executable, {', '.join(sorted(known))})")
        params = ([common] if common else []) + list(entry.get("parameters") or [])
        name = entry.get("name", entry["executable"])
        nodes.append(NodeSpec(entry["package"], entry["executable"], name, params,
                              dict(entry.get("remappings") or {}), bool(entry.get("respawn", False))))
    names = [n.name for n in nodes]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: node names must be unique, got {names}")
    for name, params in (overrides or {}).items():
        Graph(path, nodes).node(name).parameters.append(dict(params))
    return Graph(path, nodes)


def _source_tree(graph_path: Path) -> Path:
    return graph_path.parent.parent / "ros2_ws" / "src"


def resolve_file(ref: str, graph_path: Path) -> Path:
    """`pkg:relative/path` → installed share file (or the source tree's when not installed); else a path."""
    if ":" in ref and not ref.startswith("/"):
        package, relative = ref.split(":", 1)
        candidates = []
        try:
            from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

            with contextlib.suppress(PackageNotFoundError):
                candidates.append(Path(get_package_share_directory(package)) / relative)
        except ImportError:
            pass
        candidates.append(_source_tree(graph_path) / package / relative)
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        raise FileNotFoundError(f"parameter file {ref!r} not found (looked in {', '.join(map(str, candidates))})")
    path = (graph_path.parent / ref).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"parameter file {path} not found")
    return path


def graph_file(name: str) -> Path:
    """A graph description by file name: the installed copy (share/rig_runtime/graphs), else launch/."""
    try:
        from ament_index_python.packages import get_package_share_directory

        installed = Path(get_package_share_directory("rig_runtime")) / "graphs" / name
        if installed.is_file():
            return installed
    except (ImportError, LookupError):
        pass
    return Path(__file__).resolve().parents[4] / "launch" / name


def launch_description(default_graph: str) -> Any:
    """The standard launch_ros description of a graph: one Node per entry, `graph:=` overrides the file.

    Shared by every launch file (rig_policy/launch); launch and launch_ros are imported here, so this
    module stays importable where they are not installed.
    """
    from launch.actions import DeclareLaunchArgument, OpaqueFunction
    from launch.substitutions import LaunchConfiguration
    from launch_ros.actions import Node

    from launch import LaunchDescription

    def nodes(context: Any, *args: Any, **kwargs: Any) -> list[Any]:
        graph = load_graph(LaunchConfiguration("graph").perform(context))
        return [
            Node(package=spec.package, executable=spec.executable, name=spec.name, output="screen",
                 parameters=launch_parameters(spec, graph), remappings=list(spec.remappings.items()),
                 respawn=spec.respawn)
            for spec in graph.nodes
        ]

    return LaunchDescription([
        DeclareLaunchArgument("graph", default_value=str(graph_file(default_graph)),
                              description="graph description (YAML)"),
        OpaqueFunction(function=nodes),
    ])


def launch_parameters(spec: NodeSpec, graph: Graph) -> list[str | dict[str, Any]]:
    """Parameters as launch_ros.actions.Node takes them: file paths and dicts, in order."""
    return [str(resolve_file(p, graph.path)) if isinstance(p, str) else p for p in spec.parameters]


def executable_command(spec: NodeSpec) -> list[str]:
    """The installed console script (where `ros2 run` looks), else `python -m package.executable`."""
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_prefix

        try:
            script = Path(get_package_prefix(spec.package)) / "lib" / spec.package / spec.executable
            if script.is_file():
                return [str(script)]
        except PackageNotFoundError:
            pass
    except ImportError:
        pass
    return [sys.executable, "-m", f"{spec.package}.{spec.executable}"]


def node_command(spec: NodeSpec, graph: Graph, scratch: Path) -> list[str]:
    """Full command line for one node: executable + --ros-args (name, parameter files, remappings)."""
    args = ["--ros-args", "-r", f"__node:={spec.name}"] + (["-r", f"__ns:={spec.namespace}"] if spec.namespace else [])
    for i, param in enumerate(launch_parameters(spec, graph)):
        if isinstance(param, dict):
            scratch.mkdir(parents=True, exist_ok=True)
            file = scratch / f"{spec.full_name.replace('/', '.')}.{i}.yaml"
            file.write_text(yaml.safe_dump({"/**": {"ros__parameters": param}}))
            param = str(file)
        args += ["--params-file", param]
    for src, dst in spec.remappings.items():
        args += ["-r", f"{src}:={dst}"]
    return executable_command(spec) + args


def parse_overrides(items: list[str]) -> dict[str, dict[str, Any]]:
    """["node.param=value", ...] (values parsed as YAML) → {node: {param: value}}."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        node, dot, param = key.partition(".")
        if not sep or not dot:
            raise ValueError(f"override {item!r} must look like node.param=value")
        out.setdefault(node, {})[param] = yaml.safe_load(value)
    return out
