"""Separate process for the bag tests: publishes N numbered messages on each experience topic with real
rclpy publishers (waiting for a subscriber first), then keeps spinning until Ctrl-C."""

from __future__ import annotations

import sys
import time

import rclpy
from geometry_msgs.msg import PoseStamped, TwistStamped
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import Image

from rig_interfaces.msg import ExperienceStep


def make(i: int, size: int) -> dict[str, object]:
    """The i-th message of each topic (deterministic, so the test can rebuild them)."""
    data = bytes((i + k) % 256 for k in range(size * size * 3))
    img = Image(height=size, width=size, encoding="rgb8", step=size * 3, data=data)
    img.header.stamp.sec, img.header.frame_id = i, "camera"
    cmd = TwistStamped()
    cmd.header.stamp.sec, cmd.twist.linear.x, cmd.twist.linear.y = i, 0.01 * i, -0.5
    pose = PoseStamped()
    pose.header.stamp.sec, pose.pose.position.x, pose.pose.orientation.w = i, 0.1 + i, 1.0
    step = ExperienceStep(latent=[float(i), 1.5], goal=[0.0, -1.0], action=[0.25, -0.01 * i], episode=i // 10, t=i % 10,
                          is_demo=i % 2 == 0, policy_version=3, vae_version=2, image=img)
    step.header.stamp.sec = i
    step.ee_pose = pose.pose
    return {"/camera/image_raw": img, "/robot/ee_velocity_cmd": cmd, "/robot/ee_pose": pose, "/policy/experience": step}


def main() -> None:
    n, size, period = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    rclpy.init()
    node = Node("bag_test_publisher")
    reliable = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
    first = make(0, size)
    pubs = {t: node.create_publisher(type(m), t, reliable if t != "/robot/ee_pose" else qos_profile_sensor_data)
            for t, m in first.items()}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not all(p.get_subscription_count() for p in pubs.values()):
        time.sleep(0.05)
    time.sleep(0.3)
    for i in range(n):
        for topic, msg in make(i, size).items():
            pubs[topic].publish(msg)
        time.sleep(period)
    print("published", n, flush=True)
    try:
        rclpy.spin(node)
    except KeyboardInterrupt:
        pass
    finally:
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
