"""QoS profiles of the topic contract (DESIGN.md, "The node graph")."""

from __future__ import annotations

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

SENSOR_QOS = qos_profile_sensor_data  # camera images: best effort, keep last 5
RELIABLE_IMAGE_QOS = QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE)  # lock-step: no frame may drop
LATCHED_QOS = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)  # weights, goals, e-stop
POSE_QOS = QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE)  # robot state (end-effector pose)
COMMAND_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
STREAM_QOS = QoSProfile(depth=200, reliability=ReliabilityPolicy.RELIABLE)  # experience steps
# trainer status: a node that starts after the trainer's last message still hears it (a late DDS match on a loaded
# machine used to lose the only metrics a resumed, idle trainer sends); volatile readers are compatible
METRICS_QOS = QoSProfile(depth=10, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)


def image_qos(reliable: bool) -> QoSProfile:
    """Images: reliable in lock-step (no frame may drop), sensor-data QoS in realtime."""
    return RELIABLE_IMAGE_QOS if reliable else SENSOR_QOS
