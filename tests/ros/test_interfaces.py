"""Each custom message and the Reset service travel between two processes over DDS."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from nodeproc import NodeProcess
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from rig_interfaces.msg import ExperienceStep, Goal, Latent, SimState, Weights
from rig_interfaces.srv import Reset

HERE = Path(__file__).parent


def test_custom_messages_and_service_between_processes(probe, ros_env, tmp_path):
    latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
    for name, msg_type in {"latent": Latent, "step": ExperienceStep, "goal": Goal, "state": SimState}.items():
        probe.listen(f"/test/{name}", msg_type)
    probe.listen("/test/weights", Weights, qos=latched)
    publisher = NodeProcess.python(HERE / "sample_publisher.py", [], ros_env, tmp_path / "pub.log")
    try:
        for name in ("latent", "step", "goal", "state", "weights"):
            probe.wait_count(f"/test/{name}", 1, timeout=20)
        latent = probe.messages("/test/latent")[0]
        assert latent.vae_version == 7 and np.allclose(latent.z, [0.5, -1.0, 2.0]) and len(latent.logvar) == 3
        step = probe.messages("/test/step")[0]
        assert (step.episode, step.t, step.is_demo, step.policy_version) == (3, 11, True, 5)
        assert bytes(step.image.data) == bytes(range(12)) and step.image.encoding == "rgb8"
        assert np.allclose(step.action, [0.25, -0.5]) and step.ee_pose.orientation.w == 1.0
        goal = probe.messages("/test/goal")[0]
        assert goal.source == "imagined" and goal.horizon == 50 and goal.has_target and goal.target.x == 0.6
        state = probe.messages("/test/state")[0]
        assert list(state.distance_names) == ["hand_distance"] and np.allclose(state.distances, [0.05])
        weights = probe.messages("/test/weights")[0]
        assert (weights.kind, weights.version, weights.grad_steps) == ("policy", 9, 1000)
        payload = np.frombuffer(bytes(weights.safetensors), np.uint8)
        assert payload.size == 1_000_003 and np.array_equal(payload, np.arange(payload.size, dtype=np.uint8))

        client = probe.node.create_client(Reset, "/test/reset")
        assert client.wait_for_service(timeout_sec=10)
        future = client.call_async(Reset.Request(seed=42))
        probe.wait_for(future.done, 10, "Reset response")
        response = future.result()
        assert response.success and response.message == "reset with seed 42" and response.ee_pose.position.z == 0.25
    finally:
        assert publisher.stop() == 0, publisher.output()
