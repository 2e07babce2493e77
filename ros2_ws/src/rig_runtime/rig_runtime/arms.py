"""Several arms on one DDS domain feeding one learner: the graph's per-arm nodes once per arm, under /armK.

The nodes name their topics absolutely (/camera/image_raw, ...). For arm k each per-arm node runs in namespace
/armK with every per-arm topic and service remapped there (`ARM_NAMES`, lock-step /clock included) and seed
+ k, so the arms see different episodes. The learner's names stay shared (`SHARED_NAMES`): one weights stream
that every arm's encoder, policy and episode node follows, one metrics stream, and /estop, which stops every
arm. The learner (`SHARED_NODES`) runs once, listens to every arm's experience topic and, with no single sim
clock to follow, keeps wall time. One arm leaves the graph as it is.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from rig_runtime.graph import Graph, NodeSpec, launch_parameters

ARM_NAMES = ("/camera/image_raw", "/robot/ee_velocity_cmd", "/robot/ee_pose", "/robot/joint_states", "/robot/reset",
             "/sim/state", "/sim/reset", "/clock", "/perception/latent", "/policy/experience", "/policy/status",
             "/episode/goal", "/episode/context", "/episode/state", "/episode/run_until", "/teleop/twist", "/teleop/joy",
             "/demo/goal", "/demo/state")
SHARED_NAMES = ("/trainer/weights", "/trainer/metrics", "/estop")
SHARED_NODES = ("trainer_node",)


def arm_namespace(arm: int) -> str:
    return f"/arm{arm}"


def experience_topics(arms: int) -> list[str]:
    return [f"{arm_namespace(k)}/policy/experience" for k in range(arms)]


def declared_value(spec: NodeSpec, graph: Graph, key: str, default: Any = None) -> Any:
    """The value `key` gets from the node's parameter files and dicts (the last one that sets it wins)."""
    value = default
    for param in launch_parameters(spec, graph):
        if isinstance(param, dict):
            sections = [param]
        else:
            data = yaml.safe_load(Path(param).read_text()) or {}
            sections = [v.get("ros__parameters", {}) for k, v in data.items() if k in ("/**", spec.name, f"/{spec.name}")]
        for section in sections:
            value = section.get(key, value)
    return value


def arm_node(spec: NodeSpec, graph: Graph, arm: int) -> NodeSpec:
    """`spec` as arm `arm`'s node: its namespace, its topics, its seed."""
    ns = arm_namespace(arm)
    remappings = {src: ns + dst if dst in ARM_NAMES else dst for src, dst in spec.remappings.items()}
    remappings |= {name: ns + name for name in ARM_NAMES if name not in remappings}
    seed = int(declared_value(spec, graph, "seed", 0)) + arm
    return replace(spec, namespace=ns, remappings=remappings, parameters=[*spec.parameters, {"seed": seed}])


def expand_arms(graph: Graph, arms: int, shared: tuple[str, ...] = SHARED_NODES) -> Graph:
    """The graph with its per-arm nodes once per arm and the `shared` nodes once, listening to every arm."""
    if arms < 1:
        raise ValueError(f"the number of arms must be at least 1, got {arms}")
    if arms == 1:
        return graph
    nodes = []
    for spec in graph.nodes:
        if spec.name in shared:
            params = {"experience_topics": ",".join(experience_topics(arms)), "use_sim_time": False}
            nodes.append(replace(spec, parameters=[*spec.parameters, params]))
        else:
            nodes.extend(arm_node(spec, graph, k) for k in range(arms))
    return Graph(graph.path, nodes)
