"""spacemouse_teleop_node: a 3Dconnexion SpaceMouse (pyspacemouse) → /teleop/twist (TwistStamped, m/s)
and /teleop/joy (button 0 held = take over the arm, button 1 = use the current frame as the goal).
Deadzone and scale are parameters; with no device found it exits with a clear error."""

from __future__ import annotations

import contextlib

import numpy as np
from geometry_msgs.msg import TwistStamped
from rclpy.node import Node
from sensor_msgs.msg import Joy

from rig_runtime.node_runner import run_node
from rig_runtime.params import declare_parameters


def shape_axes(raw: np.ndarray, deadzone: float, scale: float) -> np.ndarray:
    """Zero inside the deadzone, rescaled to start from 0 outside it, times `scale` (m/s at full deflection)."""
    raw = np.clip(np.asarray(raw, np.float64), -1.0, 1.0)
    mag = np.maximum(np.abs(raw) - deadzone, 0.0) / max(1.0 - deadzone, 1e-9)
    return np.sign(raw) * mag * scale


class SpaceMouseTeleopNode(Node):
    def __init__(self) -> None:
        super().__init__("spacemouse_teleop_node")
        self.p = declare_parameters(self, {
            "rate": (50.0, "polling and publish rate (Hz)", (1.0, 500.0)),
            "deadzone": (0.1, "fraction of full deflection ignored around zero", (0.0, 0.9)),
            "scale": (0.1, "end-effector speed at full deflection (m/s)", (0.0, 1.0)),
            "swap_xy": (False, "swap the device's x and y axes", None),
        })
        try:
            import pyspacemouse
        except (ImportError, OSError) as err:
            raise RuntimeError(f"spacemouse_teleop_node: pyspacemouse unusable ({err}); "
                               "apt install libhidapi-hidraw0") from None
        try:
            self.device = pyspacemouse.open(axis_convention=pyspacemouse.AxisConvention.ROS)
        except Exception as err:  # pyspacemouse raises RuntimeError ("No connected or supported devices found")
            raise RuntimeError(f"spacemouse_teleop_node: no SpaceMouse found ({err}); "
                               "plug it in and give this user access to /dev/hidraw*") from None
        self.twist_pub = self.create_publisher(TwistStamped, "/teleop/twist", 10)
        self.joy_pub = self.create_publisher(Joy, "/teleop/joy", 10)
        self.create_timer(1.0 / self.p.rate, self.tick)

    def tick(self) -> None:
        state = self.device.read()
        if state is None:
            return
        raw = np.array([state.y, state.x] if self.p.swap_xy else [state.x, state.y])
        v = shape_axes(raw, self.p.deadzone, self.p.scale)
        stamp = self.get_clock().now().to_msg()
        twist = TwistStamped()
        twist.header.stamp, twist.header.frame_id = stamp, "base"
        twist.twist.linear.x, twist.twist.linear.y = float(v[0]), float(v[1])
        self.twist_pub.publish(twist)
        joy = Joy(axes=[float(a) for a in raw], buttons=[int(b) for b in list(state.buttons)[:2]])
        joy.header.stamp = stamp
        self.joy_pub.publish(joy)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.device.close()


def main(args: list[str] | None = None) -> None:
    run_node(SpaceMouseTeleopNode, args)


if __name__ == "__main__":
    main()
