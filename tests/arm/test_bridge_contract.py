"""launch/arm_bridge.yaml, the one list of what crosses ros1_bridge, against the driver and the ROS 2 real graph."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from sawyer_driver.ros1.driver_node import GRAPH_INTERFACE

ROOT = Path(__file__).resolve().parents[2]
BRIDGE = yaml.safe_load((ROOT / "launch" / "arm_bridge.yaml").read_text())
STANDARD = {"std_msgs", "geometry_msgs", "sensor_msgs", "std_srvs"}
ROS2_USE = re.compile(r'create_(publisher|subscription)\(\s*(\w+),\s*"(/robot/[^"]+)"')


def ros2_type(ros1_type: str, kind: str = "msg") -> str:
    pkg, name = ros1_type.split("/")
    return f"{pkg}/{kind}/{name}"


def bridged_topics() -> dict[str, dict]:
    return {t["topic"]: t for t in BRIDGE["topics"]}


def test_only_standard_types_cross_the_bridge():
    types = [t["type"] for t in BRIDGE["topics"]] + [s["type"] for s in BRIDGE.get("services_1_to_2", [])]
    assert {t.split("/")[0] for t in types} <= STANDARD
    assert not BRIDGE.get("services_2_to_1")


def test_every_driver_interface_is_bridged_with_its_type_and_direction():
    topics, services = bridged_topics(), {s["service"]: s for s in BRIDGE["services_1_to_2"]}
    for name, (msg_type, role) in GRAPH_INTERFACE.items():
        if role == "service":
            assert services[name]["type"] == ros2_type(msg_type, "srv"), name
        else:
            assert topics[name]["type"] == ros2_type(msg_type), name
            assert topics[name]["direction"] == ("2to1" if role == "in" else "1to2"), name
    # The robot's own joint states go to the graph as they are.
    assert topics["/robot/joint_states"] == {**topics["/robot/joint_states"], "type": "sensor_msgs/msg/JointState",
                                             "direction": "1to2"}


def real_graph_nodes() -> list[dict]:
    return yaml.safe_load((ROOT / "launch" / "real_pusher.yaml").read_text())["nodes"]


def test_the_real_graph_uses_only_bridged_arm_topics_with_the_same_types():
    topics = bridged_topics()
    used = 0
    for node in real_graph_nodes():
        source = ROOT / "ros2_ws" / "src" / node["package"] / node["package"] / f"{node['executable']}.py"
        for kind, msg_class, topic in ROS2_USE.findall(source.read_text()):
            used += 1
            assert topic in topics, f"{node['executable']} uses {topic}, which does not cross the bridge"
            assert topics[topic]["type"].endswith(f"/msg/{msg_class}"), (topic, msg_class)
            assert topics[topic]["direction"] == ("2to1" if kind == "publisher" else "1to2"), (node["executable"], topic)
    assert used >= 2  # policy_node: /robot/ee_velocity_cmd out, /robot/ee_pose in


def test_the_real_graph_resets_through_the_bridged_trigger_service():
    services = {s["service"]: s["type"] for s in BRIDGE["services_1_to_2"]}
    resets = [p for n in real_graph_nodes() for p in n.get("parameters", []) if isinstance(p, dict) and "reset_service" in p]
    assert resets
    for params in resets:
        assert services[params["reset_service"]] == "std_srvs/srv/Trigger"
        assert params.get("reset_type") == "trigger", params  # the episode node calls it as a Trigger
