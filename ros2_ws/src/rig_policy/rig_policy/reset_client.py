"""The reset service as the episode and demo nodes call it, whichever type serves it: rig_interfaces/srv/Reset
(sim_node: seeded scene reset, stamp of the first observation) or std_srvs/srv/Trigger (the Sawyer driver on the
robot's ROS 1 master, over ros1_bridge, which carries standard types only; the answer's time is the stamp)."""

from __future__ import annotations

from dataclasses import dataclass, field

from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point
from rclpy.node import Node
from rclpy.task import Future
from std_srvs.srv import Trigger

from rig_interfaces.srv import Reset

RESET_TYPES = ("rig", "trigger")


@dataclass
class ResetAnswer:
    success: bool
    message: str
    stamp: Time
    goal_state: list[float] = field(default_factory=list)  # the scene's goal where the sim knows it
    has_target: bool = False  # a hand-designed controller's target x*
    target: Point = field(default_factory=Point)


class ResetClient:
    def __init__(self, node: Node, service: str, reset_type: str) -> None:
        if reset_type not in RESET_TYPES:
            raise RuntimeError(f"{node.get_name()}: reset_type must be one of {RESET_TYPES}, got {reset_type!r}")
        self.node, self.trigger = node, reset_type == "trigger"
        self.client = node.create_client(Trigger if self.trigger else Reset, service)

    def service_is_ready(self) -> bool:
        return self.client.service_is_ready()

    def call_async(self, seed: int) -> Future:
        """Start a reset (a Trigger has no seed: the robot resets to its start pose)."""
        return self.client.call_async(Trigger.Request() if self.trigger else Reset.Request(seed=seed))

    def answer(self, future: Future) -> ResetAnswer | None:
        """The finished call's answer in one form (None when the service gave none)."""
        response = future.result()
        if response is None:
            return None
        if self.trigger:
            return ResetAnswer(bool(response.success), str(response.message), self.node.get_clock().now().to_msg())
        return ResetAnswer(bool(response.success), str(response.message), response.stamp,
                           [float(v) for v in response.goal_state], bool(response.has_target), response.target)
