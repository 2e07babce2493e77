"""episode_node: runs episodes of `horizon` steps. Before each it calls the reset service (state reset in
sim; a scripted reset motion on the arm's driver) and then publishes the episode's goal: a sample from
the VAE prior (imagined, RIG §4.1), the encoding of a goal image file, or the current frame when the
teleop goal button (Joy button 1) was pressed, or (`scene`, residual RL on a contact task) the goal the reset
answered with: the scene's goal state (the inserted peg pose) and the controller's target x*. An episode ends when
the policy reports its last step.

CC-RIG (a CC-VAE in the weights, thesis §3.4.2): after the reset the node names the episode's first frame s0 on
/episode/context (std_msgs/Header: s0 is the first frame stamped at or after the reset), waits for its latent,
and conditions the goal on it: imagined z̄_g = (z_g ~ N(0, I), zc = e0(s0)); a goal image or teleop frame is
encoded with s0 as its context. The goal is stamped with s0's stamp.

/episode/run_until (UInt64, latched; 0 = no limit) holds it at the first episode boundary with at least
that many env steps taken (an evaluator then drives the arm); with `hold_until_told` no episode starts before the
first such limit arrives. Its state is on /episode/state (latched JSON). With `wait_for_trainer` (lock-step) each
reset waits until /trainer/metrics reports the trainer idle with every step so far trained on, as the in-process
loop trains between steps. An episode with no
step for `step_timeout` seconds (steady clock) is reset again.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import torch
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from sensor_msgs.msg import Joy
from std_msgs.msg import Header, String, UInt64

from rig_core.errors import RigError
from rig_core.policy_weights import PolicyWeights, imagined_goal, load_weights
from rig_core.residual_weights import ResidualWeights
from rig_interfaces.msg import ExperienceStep, Goal, Latent, Weights
from rig_policy.reset_client import ResetClient
from rig_runtime.messages import crop_and_resize, image_to_rgb, rgb_to_image, stamp_ns
from rig_runtime.node_runner import run_node
from rig_runtime.params import declare_parameters
from rig_runtime.qos import LATCHED_QOS, STREAM_QOS


class EpisodeNode(Node):
    def __init__(self) -> None:
        super().__init__("episode_node")
        self.p = declare_parameters(self, {
            "horizon": (50, "control steps per episode", (1, 100000)),
            "goal_source": ("imagined", "imagined (VAE prior), image (goal_image_path), teleop (current frame) or "
                            "scene (the reset's goal state and controller target, residual RL)", None),
            "goal_image_path": ("", "goal image file for goal_source=image", None),
            "reset_service": ("/sim/reset", "reset service of the arm / sim", None),
            "reset_type": ("rig", "rig (rig_interfaces/srv/Reset, sim) or trigger (std_srvs/srv/Trigger, the arm driver)", None),
            "reset_timeout": (30.0, "seconds to wait for a reset before retrying", (0.1, 600.0)),
            "num_episodes": (0, "stop after this many episodes (0 = run forever)", (0, 10**9)),
            "seed": (0, "seed for goal sampling and env resets", (0, 2**31 - 1)),
            "wait_for_trainer": (False, "lock-step: before each reset, wait for the trainer to be idle", None),
            "trainer_timeout": (600.0, "seconds to wait for the trainer before going on anyway", (0.1, 86400.0)),
            "step_timeout": (30.0, "seconds without a step before a running episode is reset again", (0.1, 3600.0)),
            "hold_until_told": (False, "start held: no episode before the first /episode/run_until (a graph runner, "
                                "whose latched limit may reach this node after the trainer's first weights)", None),
        })
        if self.p.goal_source not in ("imagined", "image", "teleop", "scene"):
            raise RuntimeError(f"episode_node: goal_source must be imagined, image, teleop or scene, "
                               f"got {self.p.goal_source!r}")
        self.rng = torch.Generator().manual_seed(self.p.seed)
        self.weights: PolicyWeights | ResidualWeights | None = None
        self.reset_answer = None  # the last reset's answer: its stamp (CC-RIG: the first frame at or after it is the
        # episode's context s0) and, for goal_source scene, the goal state and target
        self.latent: Latent | None = None
        self.teleop_goal: Latent | None = None
        self.episode, self.state = 0, "idle"  # idle → [waiting →] resetting → running → ... ; paused; finished
        self.reset_started = self.last_step = self.waiting_since = 0.0
        self.run_until, self.steps_sent, self.trainer_steps, self.trainer_version = 0, 0, -1, -1
        self.told = not self.p.hold_until_told  # a /episode/run_until was heard (or none is needed)
        self.steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.client = ResetClient(self, self.p.reset_service, self.p.reset_type)
        self.goal_pub = self.create_publisher(Goal, "/episode/goal", LATCHED_QOS)
        self.context_pub = self.create_publisher(Header, "/episode/context", LATCHED_QOS)
        self.state_pub = self.create_publisher(String, "/episode/state", LATCHED_QOS)
        self.create_subscription(UInt64, "/episode/run_until", self.on_run_until, LATCHED_QOS)
        self.create_subscription(String, "/trainer/metrics", self.on_metrics, 10)
        self.create_subscription(Weights, "/trainer/weights", self.on_weights, LATCHED_QOS)
        self.create_subscription(ExperienceStep, "/policy/experience", self.on_step, STREAM_QOS)
        self.create_subscription(Latent, "/perception/latent", self.on_latent, 10)
        self.create_subscription(Joy, "/teleop/joy", self.on_joy, 10)
        self.create_timer(0.2, self.watchdog, clock=self.steady)  # steady: runs in lock-step too

    def on_weights(self, msg: Weights) -> None:
        try:
            self.weights = load_weights(bytes(msg.safetensors), msg.kind)
        except RigError as err:
            self.get_logger().error(f"ignoring weights version {msg.version}: {err}")
            return
        self.maybe_done_waiting()

    def on_latent(self, msg: Latent) -> None:
        self.latent = msg
        if self.state == "conditioning" and stamp_ns(msg.header.stamp) >= stamp_ns(self.reset_answer.stamp):
            self.begin_episode(msg)

    def on_joy(self, msg: Joy) -> None:
        if len(msg.buttons) > 1 and msg.buttons[1] == 1 and self.latent is not None:
            self.teleop_goal = self.latent
            self.get_logger().info("teleop: current frame is the next episode's goal")

    def on_step(self, msg: ExperienceStep) -> None:
        if self.state == "running" and msg.episode == self.episode:
            self.last_step = self.now()
            if len(msg.action):
                self.steps_sent += 1
            if msg.is_last:
                self.next_episode()

    @property
    def paused(self) -> bool:
        return not self.told or (self.run_until > 0 and self.steps_sent >= self.run_until)

    def on_run_until(self, msg: UInt64) -> None:
        self.run_until, self.told = int(msg.data), True
        if self.paused and self.state in ("idle", "waiting"):
            self.set_state("paused")
        elif not self.paused and self.state == "paused":
            self.next_episode()

    def on_metrics(self, msg: String) -> None:
        metrics = json.loads(msg.data)
        if metrics.get("idle"):
            self.trainer_steps, self.trainer_version = int(metrics["env_steps"]), int(metrics["version"])
        self.maybe_done_waiting()

    def maybe_done_waiting(self) -> None:
        """Waiting for the trainer ends when it has trained on every step and its weights are here."""
        have = self.weights.version if self.weights is not None else -1
        if self.state == "waiting" and self.trainer_steps >= self.steps_sent and have >= self.trainer_version:
            self.start_reset()

    def now(self) -> float:
        return self.steady.now().nanoseconds / 1e9

    def set_state(self, state: str) -> None:
        self.state = state
        self.state_pub.publish(String(data=json.dumps({"state": state, "episode": self.episode, "steps": self.steps_sent})))

    def next_episode(self) -> None:
        """After an episode: hold when paused, wait for the trainer in lock-step, else reset at once."""
        if self.paused:
            self.set_state("paused")
        elif self.p.wait_for_trainer:
            self.waiting_since = self.now()
            self.set_state("waiting")
            self.maybe_done_waiting()
        else:
            self.start_reset()

    def watchdog(self) -> None:
        now = self.now()
        if self.state == "idle" and not self.paused and self.weights is not None and self.client.service_is_ready():
            self.start_reset()
        elif self.state in ("resetting", "conditioning") and now - self.reset_started > self.p.reset_timeout:
            self.get_logger().error(f"reset timed out after {self.p.reset_timeout:.0f} s: retrying")
            self.start_reset()
        elif self.state == "waiting" and now - self.waiting_since > self.p.trainer_timeout:
            self.get_logger().error(f"trainer not idle after {self.p.trainer_timeout:.0f} s "
                                    f"({self.trainer_steps}/{self.steps_sent} steps trained on): going on")
            self.start_reset()
        elif self.state == "running" and now - self.last_step > self.p.step_timeout:
            self.get_logger().error(f"no step in episode {self.episode} for {self.p.step_timeout:.0f} s: resetting")
            self.start_reset()

    def start_reset(self) -> None:
        if self.p.num_episodes and self.episode >= self.p.num_episodes:
            self.set_state("finished")
            return
        self.set_state("resetting")
        self.reset_started = self.now()
        seed = self.p.seed + self.episode + 1 if self.episode == 0 else -1
        self.client.call_async(seed).add_done_callback(self.on_reset_done)

    def on_reset_done(self, future) -> None:
        response = self.client.answer(future)
        if response is None or not response.success:
            self.get_logger().error(f"reset failed: {getattr(response, 'message', 'no response')}")
            self.set_state("idle")
            return
        if self.state != "resetting":  # a late answer to a reset that timed out, or paused meanwhile
            return
        self.reset_answer = response
        if self.weights is not None and self.weights.contextual:  # CC-RIG: the goal waits for s0's latent
            self.context_pub.publish(Header(stamp=response.stamp))
            self.set_state("conditioning")
            if self.latent is not None and stamp_ns(self.latent.header.stamp) >= stamp_ns(response.stamp):
                self.begin_episode(self.latent)
            return
        self.begin_episode(None)

    def begin_episode(self, s0: Latent | None) -> None:
        """Publish the next episode's goal (CC-RIG: conditioned on the latent of its first frame ``s0``)."""
        goal = self.make_goal(s0)
        if goal is None:
            self.set_state("idle")
            return
        self.episode += 1
        goal.episode, goal.horizon = self.episode, self.p.horizon
        goal.header.stamp = self.reset_answer.stamp if s0 is None else s0.header.stamp
        self.goal_pub.publish(goal)
        self.last_step = self.now()
        self.set_state("running")

    def make_goal(self, s0: Latent | None = None) -> Goal | None:
        w = self.weights
        if self.p.goal_source == "scene":
            answer = self.reset_answer.goal_state
            if not answer:
                self.get_logger().error("goal_source scene: the reset answered with no goal state (a sim's reset "
                                        "service gives one)", throttle_duration_sec=5.0)
                return None
            return Goal(source="scene", latent=list(answer), vae_version=w.version,
                        has_target=bool(self.reset_answer.has_target), target=self.reset_answer.target)
        if isinstance(w, ResidualWeights):
            self.get_logger().error(f"residual weights need goal_source scene, not {self.p.goal_source}",
                                    throttle_duration_sec=5.0)
            return None
        context = image_to_rgb(s0.image) if s0 is not None else None  # CC-RIG: the episode's first frame
        if self.p.goal_source == "teleop" and self.teleop_goal is not None:
            goal, self.teleop_goal = self.teleop_goal, None
            z = goal.z if context is None else w.encode(image_to_rgb(goal.image)[None], context[None])[0][0].tolist()
            return Goal(source="teleop", latent=list(z), vae_version=goal.vae_version, image=goal.image)
        if self.p.goal_source == "image":
            bgr = cv2.imread(self.p.goal_image_path)
            if bgr is None:
                self.get_logger().error(f"cannot read goal image {self.p.goal_image_path!r}")
                return None
            frame = crop_and_resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (0, 0, 0, 0), w.config.image_size)
            z = w.encode(frame[None], None if context is None else context[None])[0][0]
            return Goal(source="image", latent=z.tolist(), vae_version=w.version,
                        image=rgb_to_image(frame, self.get_clock().now().to_msg()))
        z = imagined_goal(w, self.rng, context)  # prior or Skew-Fit's pool; CC-RIG: with zc = e0(s0) (§3.4.2)
        return Goal(source="imagined", latent=np.asarray(z, np.float32).tolist(), vae_version=w.version)


def main(args: list[str] | None = None) -> None:
    torch.set_num_threads(1)
    run_node(EpisodeNode, args)


if __name__ == "__main__":
    main()
