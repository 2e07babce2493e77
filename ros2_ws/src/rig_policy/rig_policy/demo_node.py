"""demo_node: demonstration episodes run from the teleop device's buttons (replaces episode_node while
collecting demos; spacemouse_teleop_node or scripted_teleop_node drive /teleop/*).

Button 1 (/teleop/joy) when idle starts a demo: the scene is reset (reset service) and the episode's goal
is published with the current frame as a placeholder latent; the operator holds button 0 to drive (the
policy node marks those steps is_demo). Button 1 while running ends the demo as a success: the goal is
re-sent with the horizon cut at the current step, the policy reports the final observation, and that
final frame becomes the demo's goal, published on /demo/goal (rig_interfaces/Goal: latent and image of
the final frame, horizon = demo length). A demo that reaches `max_steps` ends as a failure (no goal).
/demo/state (latched JSON) says idle / resetting / running / finished and how many demos succeeded.
"""

from __future__ import annotations

import json

from rclpy.node import Node
from rclpy.task import Future
from sensor_msgs.msg import Joy
from std_msgs.msg import String

from rig_interfaces.msg import ExperienceStep, Goal, Latent
from rig_policy.reset_client import ResetClient
from rig_runtime.node_runner import run_node
from rig_runtime.params import declare_parameters
from rig_runtime.qos import LATCHED_QOS, STREAM_QOS


class DemoNode(Node):
    def __init__(self) -> None:
        super().__init__("demo_node")
        self.p = declare_parameters(self, {
            "reset_service": ("/sim/reset", "reset service (/sim/reset in sim, /robot/reset on the arm)", None),
            "reset_type": ("rig", "rig (rig_interfaces/srv/Reset, sim) or trigger (std_srvs/srv/Trigger, the arm driver)", None),
            "max_steps": (200, "a demo still running after this many steps ends as a failure", (1, 10**6)),
            "num_demos": (0, "finish after this many successful demos (0 = run forever)", (0, 10**6)),
            "first_episode": (1, "episode number of the first demo", (1, 2**31 - 1)),
            "seed": (0, "seed of the first scene reset (-1 afterwards: the sim's own stream)", (0, 2**31 - 1)),
        })
        self.state, self.episode, self.successes, self.failures = "idle", self.p.first_episode - 1, 0, 0
        self.goal: Goal | None = None
        self.latent: Latent | None = None
        self.last_step: ExperienceStep | None = None
        self.success = False
        self.button = 0
        self.client = ResetClient(self, self.p.reset_service, self.p.reset_type)
        self.goal_pub = self.create_publisher(Goal, "/episode/goal", LATCHED_QOS)
        self.demo_goal_pub = self.create_publisher(Goal, "/demo/goal", STREAM_QOS)
        self.state_pub = self.create_publisher(String, "/demo/state", LATCHED_QOS)
        self.create_subscription(Joy, "/teleop/joy", self.on_joy, 10)
        self.create_subscription(Latent, "/perception/latent", lambda m: setattr(self, "latent", m), 10)
        self.create_subscription(ExperienceStep, "/policy/experience", self.on_step, STREAM_QOS)
        self.set_state("idle")

    def set_state(self, state: str) -> None:
        self.state = state
        self.state_pub.publish(String(data=json.dumps({"state": state, "episode": self.episode,
                                                       "successes": self.successes, "failures": self.failures})))

    def on_joy(self, msg: Joy) -> None:
        pressed = len(msg.buttons) > 1 and msg.buttons[1] == 1 and self.button == 0
        self.button = msg.buttons[1] if len(msg.buttons) > 1 else 0
        if not pressed:
            return
        if self.state == "idle":
            self.start()
        elif self.state == "running" and self.last_step is not None:
            self.end(success=True, at=self.last_step.t + 1)

    def start(self) -> None:
        if self.latent is None or not self.client.service_is_ready():
            self.get_logger().warn("cannot start a demo yet: no latent or no reset service")
            return
        self.set_state("resetting")
        seed = self.p.seed if self.episode < self.p.first_episode else -1
        self.client.call_async(seed).add_done_callback(self.on_reset_done)

    def on_reset_done(self, future: Future) -> None:
        response = self.client.answer(future)
        if response is None or not response.success or self.latent is None:
            self.get_logger().error(f"reset failed: {getattr(response, 'message', 'no response')}")
            self.set_state("idle")
            return
        self.episode += 1
        self.goal = Goal(episode=self.episode, horizon=self.p.max_steps, source="teleop", latent=list(self.latent.z),
                         vae_version=self.latent.vae_version, image=self.latent.image)
        self.goal.header.stamp = response.stamp
        self.last_step, self.success = None, False
        self.goal_pub.publish(self.goal)
        self.set_state("running")
        self.get_logger().info(f"demo {self.episode}: started")

    def end(self, success: bool, at: int) -> None:
        """Cut the episode at step `at`: the policy then sends its final observation (is_last)."""
        self.success = success
        self.goal.horizon = at
        self.goal_pub.publish(self.goal)
        self.set_state("ending")

    def on_step(self, msg: ExperienceStep) -> None:
        if self.goal is None or msg.episode != self.goal.episode or self.state not in ("running", "ending"):
            return
        self.last_step = msg
        if not msg.is_last:
            return
        if self.success:
            goal = Goal(episode=msg.episode, horizon=msg.t, source="teleop", latent=list(msg.latent),
                        vae_version=msg.vae_version, image=msg.image)
            goal.header = msg.header
            self.demo_goal_pub.publish(goal)
            self.successes += 1
        else:
            self.failures += 1
        self.get_logger().info(f"demo {msg.episode}: {'success' if self.success else 'failure'} after {msg.t} steps")
        done = self.p.num_demos and self.successes >= self.p.num_demos
        self.set_state("finished" if done else "idle")


def main(args: list[str] | None = None) -> None:
    run_node(DemoNode, args)


if __name__ == "__main__":
    main()
