"""ROS 2 test fixtures: the environment of scripts/ros_env.sh, a distinct ROS_DOMAIN_ID per test,
an in-process rclpy node for probing the graph, and node processes started as separate programs."""

from __future__ import annotations

import ctypes
import itertools
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "ros2_ws" / "install"
sys.path.insert(0, str(Path(__file__).parent))

if not (INSTALL / "rig_interfaces").is_dir():
    pytest.skip("ros2_ws is not built: run scripts/setup_ros.sh", allow_module_level=True)


def _ros_environment() -> dict[str, str]:
    """os.environ after `source scripts/ros_env.sh` (what every node process gets)."""
    out = subprocess.run(["bash", "-c", f"source {ROOT}/scripts/ros_env.sh && env -0"], capture_output=True,
                         check=True, env={**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")})
    pairs = (item.split("=", 1) for item in out.stdout.decode().split("\0") if "=" in item)
    return dict(pairs)


ROS_ENV = _ros_environment()


def _prepare_this_process() -> None:
    """Make the workspace's message packages importable here: sys.path, AMENT_PREFIX_PATH, and the
    generated C libraries loaded by soname (LD_LIBRARY_PATH cannot change after start-up)."""
    for key in ("AMENT_PREFIX_PATH", "RMW_IMPLEMENTATION", "ROS_AUTOMATIC_DISCOVERY_RANGE"):
        os.environ[key] = ROS_ENV[key]
    for site in sorted(INSTALL.glob("*/lib/python3.*/site-packages")):
        if str(site) not in sys.path:
            sys.path.insert(0, str(site))
    libs = sorted(INSTALL.glob("*/lib/lib*.so"))
    for _ in range(3):  # dependency order is unknown: retry until all load
        pending = []
        for lib in libs:
            try:
                ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
            except OSError:
                pending.append(lib)
        libs = pending


_prepare_this_process()


_DOMAINS = itertools.count(random.Random(os.urandom(8)).randrange(80))


@pytest.fixture
def domain_id() -> int:
    """A ROS_DOMAIN_ID for one test: consecutive tests never share one (a node still stopping from the last test
    cannot meet this one's), and a random start keeps concurrent runs on this machine apart."""
    return 20 + next(_DOMAINS) % 80


@pytest.fixture
def ros_env(domain_id: int, tmp_path: Path) -> dict[str, str]:
    """Environment for node processes of this test."""
    return {**ROS_ENV, "ROS_DOMAIN_ID": str(domain_id), "ROS_LOG_DIR": str(tmp_path / "roslog"),
            "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def probe(domain_id: int) -> Iterator:
    """An rclpy node in this process on the test's domain, with a background executor."""
    from graph_probe import Probe

    node = Probe(domain_id)
    try:
        yield node
    finally:
        node.close()


def start_nodes(graph_file: str, overrides: dict, env: dict[str, str], tmp_path: Path,
                only: list[str] | None = None) -> dict:
    """Start the graph's nodes (or `only` these) as separate processes, as bringup does."""
    from nodeproc import NodeProcess

    from rig_runtime.graph import load_graph, node_command

    graph = load_graph(ROOT / "launch" / graph_file, overrides)
    procs = {}
    for spec in graph.nodes:
        if only is None or spec.name in only:
            cmd = node_command(spec, graph, tmp_path / "params")
            procs[spec.name] = NodeProcess(cmd, env, tmp_path / f"{spec.name}.log")
    return procs


def start_nodes_heard(graph_file: str, overrides: dict, env: dict[str, str], tmp_path: Path, probe, last: str,
                      topics: list[str], timeout: float = 60.0, held_until: tuple[str, ...] = ()) -> dict:
    """Start the graph with node `last` held back until `probe` has discovered a publisher on each of `topics`: the
    episodes wait for `last` (the trainer's first weights), so nothing they publish goes out before the probe listens
    (an idle machine runs a short test's episodes faster than a late DDS match). With `held_until`, the episode node
    also starts held (`hold_until_told`) and is released (/episode/run_until 0) once the probe holds a first message
    on each of those topics, so it hears every later one from `last` too (a depth-1 latched writer's messages sent
    before the match are lost)."""
    from std_msgs.msg import UInt64

    from rig_runtime.graph import load_graph
    from rig_runtime.qos import LATCHED_QOS

    if held_until:
        overrides = {**overrides, "episode_node": {**overrides.get("episode_node", {}), "hold_until_told": True}}
    names = [spec.name for spec in load_graph(ROOT / "launch" / graph_file, overrides).nodes]
    procs = start_nodes(graph_file, overrides, env, tmp_path, only=[n for n in names if n != last])
    try:
        probe.wait_for(lambda: all(probe.node.count_publishers(t) > 0 for t in topics), timeout,
                       f"publishers on {', '.join(topics)}")
        procs.update(start_nodes(graph_file, overrides, env, tmp_path, only=[last]))
        if held_until:
            probe.wait_for(lambda: all(probe.messages(t) for t in held_until), 120,  # a trainer starts in ~10 s idle
                           f"a first message on {', '.join(held_until)}")
            probe.node.create_publisher(UInt64, "/episode/run_until", LATCHED_QOS).publish(UInt64(data=0))
    except AssertionError:
        stop_all(procs)
        raise
    return procs


def stop_all(procs: dict) -> dict[str, int]:
    return {name: proc.stop() for name, proc in procs.items()}
