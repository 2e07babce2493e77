"""episode_node: runs episodes of `horizon` steps. Before each it calls the reset service (state reset in
sim; a scripted reset motion on the arm's driver) and then publishes the episode's goal: a sample from
the VAE prior (imagined, RIG §4.1), the encoding of a goal image file, or the current frame when the
teleop goal button (Joy button 1) was pressed. An episode ends when the policy reports its last step."""

from __future__ import annotations

import cv2
import numpy as np
import torch
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from sensor_msgs.msg import Joy

from rig_core.errors import RigError
from rig_core.ros_glue import PolicyWeights, load_policy_weights
from rig_interfaces.msg import ExperienceStep, Goal, Latent, Weights
from rig_interfaces.srv import Reset
from rig_policy.ros_common import LATCHED_QOS, STREAM_QOS, crop_and_resize, declare_parameters, rgb_to_image, run_node


class EpisodeNode(Node):
    def __init__(self) -> None:
        super().__init__("episode_node")
        self.p = declare_parameters(self, {
            "horizon": (50, "control steps per episode", (1, 100000)),
            "goal_source": ("imagined", "imagined (VAE prior), image (goal_image_path) or teleop (current frame)", None),
            "goal_image_path": ("", "goal image file for goal_source=image", None),
            "reset_service": ("/sim/reset", "rig_interfaces/srv/Reset service that resets the arm / sim", None),
            "reset_timeout": (30.0, "seconds to wait for a reset before retrying", (0.1, 600.0)),
            "num_episodes": (0, "stop after this many episodes (0 = run forever)", (0, 10**9)),
            "seed": (0, "seed for goal sampling and env resets", (0, 2**31 - 1)),
        })
        if self.p.goal_source not in ("imagined", "image", "teleop"):
            raise RuntimeError(f"episode_node: goal_source must be imagined, image or teleop, got {self.p.goal_source!r}")
        self.rng = torch.Generator().manual_seed(self.p.seed)
        self.weights: PolicyWeights | None = None
        self.latent: Latent | None = None
        self.teleop_goal: Latent | None = None
        self.episode, self.state = 0, "idle"  # idle → resetting → running → resetting ...
        self.reset_started = 0.0
        self.steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.client = self.create_client(Reset, self.p.reset_service)
        self.goal_pub = self.create_publisher(Goal, "/episode/goal", LATCHED_QOS)
        self.create_subscription(Weights, "/trainer/weights", self.on_weights, LATCHED_QOS)
        self.create_subscription(ExperienceStep, "/policy/experience", self.on_step, STREAM_QOS)
        self.create_subscription(Latent, "/perception/latent", lambda m: setattr(self, "latent", m), 10)
        self.create_subscription(Joy, "/teleop/joy", self.on_joy, 10)
        self.create_timer(0.2, self.watchdog, clock=self.steady)  # steady: runs in lock-step too

    def on_weights(self, msg: Weights) -> None:
        try:
            self.weights = load_policy_weights(bytes(msg.safetensors))
        except RigError as err:
            self.get_logger().error(f"ignoring weights version {msg.version}: {err}")

    def on_joy(self, msg: Joy) -> None:
        if len(msg.buttons) > 1 and msg.buttons[1] == 1 and self.latent is not None:
            self.teleop_goal = self.latent
            self.get_logger().info("teleop: current frame is the next episode's goal")

    def on_step(self, msg: ExperienceStep) -> None:
        if self.state == "running" and msg.episode == self.episode and msg.is_last:
            self.start_reset()

    def watchdog(self) -> None:
        now = self.steady.now().nanoseconds / 1e9
        if self.state == "idle" and self.weights is not None and self.client.service_is_ready():
            self.start_reset()
        elif self.state == "resetting" and now - self.reset_started > self.p.reset_timeout:
            self.get_logger().error(f"reset timed out after {self.p.reset_timeout:.0f} s: retrying")
            self.start_reset()

    def start_reset(self) -> None:
        if self.p.num_episodes and self.episode >= self.p.num_episodes:
            self.state = "finished"
            return
        self.state, self.reset_started = "resetting", self.steady.now().nanoseconds / 1e9
        seed = self.p.seed + self.episode + 1 if self.episode == 0 else -1
        self.client.call_async(Reset.Request(seed=seed)).add_done_callback(self.on_reset_done)

    def on_reset_done(self, future) -> None:
        response = future.result()
        if response is None or not response.success:
            self.get_logger().error(f"reset failed: {getattr(response, 'message', 'no response')}")
            self.state = "idle"
            return
        goal = self.make_goal()
        if goal is None:
            self.state = "idle"
            return
        self.episode += 1
        goal.episode, goal.horizon, goal.header.stamp = self.episode, self.p.horizon, response.stamp
        self.goal_pub.publish(goal)
        self.state = "running"

    def make_goal(self) -> Goal | None:
        w = self.weights
        if self.p.goal_source == "teleop" and self.teleop_goal is not None:
            goal, self.teleop_goal = self.teleop_goal, None
            return Goal(source="teleop", latent=list(goal.z), vae_version=goal.vae_version, image=goal.image)
        if self.p.goal_source == "image":
            bgr = cv2.imread(self.p.goal_image_path)
            if bgr is None:
                self.get_logger().error(f"cannot read goal image {self.p.goal_image_path!r}")
                return None
            frame = crop_and_resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (0, 0, 0, 0), w.config.image_size)
            z = w.vae.encode(frame[None])[0][0]
            return Goal(source="image", latent=z.tolist(), vae_version=w.version,
                        image=rgb_to_image(frame, self.get_clock().now().to_msg()))
        z = w.vae.sample_prior(1, self.rng)[0]
        return Goal(source="imagined", latent=np.asarray(z, np.float32).tolist(), vae_version=w.version)


def main(args: list[str] | None = None) -> None:
    torch.set_num_threads(1)
    run_node(EpisodeNode, args)


if __name__ == "__main__":
    main()
