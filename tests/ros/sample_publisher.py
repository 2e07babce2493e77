"""Separate process for test_interfaces: publishes one sample of each custom message at 10 Hz and
serves rig_interfaces/srv/Reset on /test/reset."""

from __future__ import annotations

import numpy as np
import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from rig_interfaces.msg import ExperienceStep, Goal, Latent, SimState, Weights
from rig_interfaces.srv import Reset

WEIGHTS_BYTES = 1_000_003  # larger than one UDP datagram and the default shared-memory chunk


def samples(node: Node) -> dict[str, object]:
    stamp = node.get_clock().now().to_msg()
    latent = Latent(vae_version=7, z=[0.5, -1.0, 2.0], logvar=[-3.0, -3.0, -3.0])
    latent.header.stamp = stamp
    step = ExperienceStep(latent=[1.0, 2.0], goal=[3.0, 4.0], action=[0.25, -0.5], episode=3, t=11, is_demo=True,
                          policy_version=5, vae_version=2)
    step.header.stamp = stamp
    step.image.height, step.image.width, step.image.encoding, step.image.step = 2, 2, "rgb8", 6
    step.image.data = bytes(range(12))
    step.ee_pose.position.x, step.ee_pose.orientation.w = 0.1, 1.0
    weights = Weights(kind="policy", version=9, grad_steps=1000,
                      safetensors=np.arange(WEIGHTS_BYTES, dtype=np.uint8).tobytes())
    goal = Goal(episode=4, horizon=50, source="imagined", latent=[0.0, 1.0], vae_version=2, has_target=True)
    goal.target.x = 0.6
    state = SimState(episode_steps=5, state=[0.1, 0.2], goal_state=[0.3, 0.4], distance_names=["hand_distance"],
                     distances=[0.05])
    return {"latent": latent, "step": step, "weights": weights, "goal": goal, "state": state}


def main() -> None:
    rclpy.init()
    node = Node("sample_publisher")
    latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
    msgs = samples(node)
    pubs = {name: node.create_publisher(type(msg), f"/test/{name}", latched if name == "weights" else 10)
            for name, msg in msgs.items()}

    def serve(request: Reset.Request, response: Reset.Response) -> Reset.Response:
        response.success = True
        response.message = f"reset with seed {request.seed}"
        response.stamp = node.get_clock().now().to_msg()
        response.ee_pose.position.z = 0.25
        return response

    node.create_service(Reset, "/test/reset", serve)
    pubs["weights"].publish(msgs["weights"])
    node.create_timer(0.1, lambda: [pubs[n].publish(m) for n, m in msgs.items() if n != "weights"])
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):  # Ctrl-C arrives as either, depending on timing
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
