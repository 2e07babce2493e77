"""The launch files build one launch_ros Node per graph entry, naming installed executables and existing
parameter files. `launch`/`launch_ros` are not installable here, so their API is recorded by stand-ins
that keep the call arguments (nothing is launched); the bringup resolves the same graph."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest
from conftest import INSTALL, ROOT

from rig_runtime.graph import load_graph, parse_overrides

LAUNCH_DIR = INSTALL / "rig_policy" / "share" / "rig_policy" / "launch"


class _Recorded:
    def __init__(self, *args, **kwargs) -> None:
        self.args, self.kwargs = args, kwargs


class _Config:
    def __init__(self, name: str) -> None:
        self.name = name

    def perform(self, context) -> str:
        return context[self.name]


def _stub_launch_api(monkeypatch) -> None:
    launch = types.ModuleType("launch")
    launch.LaunchDescription = lambda entities: list(entities)
    actions = types.ModuleType("launch.actions")
    actions.DeclareLaunchArgument = _Recorded
    actions.OpaqueFunction = _Recorded
    subs = types.ModuleType("launch.substitutions")
    subs.LaunchConfiguration = _Config
    launch_ros = types.ModuleType("launch_ros")
    ros_actions = types.ModuleType("launch_ros.actions")
    ros_actions.Node = _Recorded
    for name, mod in {"launch": launch, "launch.actions": actions, "launch.substitutions": subs,
                      "launch_ros": launch_ros, "launch_ros.actions": ros_actions}.items():
        monkeypatch.setitem(sys.modules, name, mod)


@pytest.mark.parametrize("name", ["sim_pusher", "real_pusher", "sim_reacher_lockstep", "sim_insertion_residual_lockstep"])
def test_launch_file_describes_the_graph(name, monkeypatch):
    _stub_launch_api(monkeypatch)
    path = LAUNCH_DIR / f"{name}.launch.py"
    spec = importlib.util.spec_from_file_location(f"launch_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    declare, opaque = module.generate_launch_description()
    graph_file = declare.kwargs["default_value"]
    assert Path(graph_file).is_file() and Path(graph_file).read_text() == (ROOT / "launch" / f"{name}.yaml").read_text()
    nodes = opaque.kwargs["function"]({"graph": graph_file})
    graph = load_graph(graph_file)
    assert [n.kwargs["name"] for n in nodes] == [s.name for s in graph.nodes]
    for node in nodes:
        kw = node.kwargs
        exe = INSTALL / kw["package"] / "lib" / kw["package"] / kw["executable"]
        assert exe.is_file(), f"{exe} is not installed"
        for param in kw["parameters"]:
            assert isinstance(param, dict) or Path(param).is_file(), param


def test_graph_overrides_and_errors(tmp_path):
    assert parse_overrides(["policy_node.kp=0.5", "sim_node.mode=lockstep"]) == {
        "policy_node": {"kp": 0.5}, "sim_node": {"mode": "lockstep"}}
    with pytest.raises(ValueError):
        parse_overrides(["kp=0.5"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("nodes:\n  - {package: rig_policy}\n")
    with pytest.raises(ValueError):
        load_graph(bad)
    graph = load_graph(ROOT / "launch" / "sim_reacher_lockstep.yaml", {"policy_node": {"kp": 1.0}})
    policy = graph.node("policy_node")
    assert policy.parameters[0] == {"use_sim_time": True} and policy.parameters[-1] == {"kp": 1.0}
