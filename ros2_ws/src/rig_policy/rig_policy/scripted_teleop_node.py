"""scripted_teleop_node: a stand-in for the SpaceMouse in sim. It reads the sim's ground truth (/sim/state)
and drives the hand (and for pushers the puck) toward the scene's goal with `rig_core.scripted`, on the
same topics and buttons as spacemouse_teleop_node: /teleop/twist (m/s) and /teleop/joy (button 0 held =
take over, button 1 = start a demo / end it as a success, see demo_node). It ends a demo when the scene is
within `tolerance` of its goal or after `demo_steps` steps, and starts the next while demos remain."""

from __future__ import annotations

import json

import numpy as np
from geometry_msgs.msg import TwistStamped
from rclpy.node import Node
from sensor_msgs.msg import Joy
from std_msgs.msg import String

from rig_core.scripted import scripted_action
from rig_interfaces.msg import SimState
from rig_runtime.node_runner import run_node
from rig_runtime.params import declare_parameters
from rig_runtime.qos import LATCHED_QOS


class ScriptedTeleopNode(Node):
    def __init__(self) -> None:
        super().__init__("scripted_teleop_node")
        self.p = declare_parameters(self, {
            "rate": (20.0, "publish rate (Hz)", (1.0, 500.0)),
            "speed": (0.25, "end-effector speed at full action (m/s)", (0.0, 1.0)),
            "noise": (0.1, "Gaussian action noise (fraction of full speed), for varied demos", (0.0, 2.0)),
            "tolerance": (0.02, "end the demo when every distance of the scene is below this (m)", (0.0, 1.0)),
            "demo_steps": (30, "end the demo after this many sim steps anyway", (1, 10**6)),
            "seed": (0, "noise seed", (0, 2**31 - 1)),
        })
        self.rng = np.random.default_rng(self.p.seed)
        self.sim: SimState | None = None
        self.demo_state = "unknown"
        self.episode = -1
        self.pressed = 0  # ticks left in a button-1 press (down while > 2)
        self.twist_pub = self.create_publisher(TwistStamped, "/teleop/twist", 10)
        self.joy_pub = self.create_publisher(Joy, "/teleop/joy", 10)
        self.fresh = False  # seen the scene just after this demo's reset (episode_steps 0): not a stale state
        self.create_subscription(SimState, "/sim/state", self.on_sim_state, 10)
        self.create_subscription(String, "/demo/state", self.on_demo_state, LATCHED_QOS)
        self.create_timer(1.0 / self.p.rate, self.tick)

    def on_sim_state(self, msg: SimState) -> None:
        self.sim = msg
        self.fresh = self.fresh or msg.episode_steps == 0

    def on_demo_state(self, msg: String) -> None:
        state = json.loads(msg.data)
        if state["state"] == "resetting":
            self.fresh = False
        self.demo_state, self.episode = state["state"], int(state["episode"])

    def press(self) -> None:
        self.pressed = 4  # two messages down, two up: one rising edge

    def tick(self) -> None:
        velocity, hold = np.zeros(2), False
        sim = self.sim
        if self.demo_state == "idle" and self.pressed == 0:
            self.press()
        # Like an operator, hold the take-over button (0) while pressing start, so the demo's first step
        # is already teleop-driven; move only once the reset scene has been seen.
        hold = self.demo_state in ("idle", "resetting", "running")
        if self.demo_state == "running" and sim is not None and self.fresh:
            state, goal = np.asarray(sim.state), np.asarray(sim.goal_state)
            done = max(sim.distances, default=0.0) < self.p.tolerance or sim.episode_steps >= self.p.demo_steps
            if done and self.pressed == 0:
                self.press()
            elif not done:
                action = scripted_action(state, goal) + self.rng.normal(0.0, self.p.noise, 2)
                velocity = np.clip(action, -1.0, 1.0) * self.p.speed
        stamp = self.get_clock().now().to_msg()
        twist = TwistStamped()
        twist.header.stamp, twist.header.frame_id = stamp, "base"
        twist.twist.linear.x, twist.twist.linear.y = float(velocity[0]), float(velocity[1])
        self.twist_pub.publish(twist)
        joy = Joy(axes=[float(v / max(self.p.speed, 1e-9)) for v in velocity],
                  buttons=[int(hold), int(self.pressed > 2)])
        joy.header.stamp = stamp
        self.joy_pub.publish(joy)
        self.pressed = max(0, self.pressed - 1)


def main(args: list[str] | None = None) -> None:
    run_node(ScriptedTeleopNode, args)


if __name__ == "__main__":
    main()
