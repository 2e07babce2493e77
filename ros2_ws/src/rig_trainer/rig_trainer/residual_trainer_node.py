"""residual_trainer_node: residual RL on a hand-designed controller (thesis ch. 8–9) learning from the policy's
experience stream, the learner of `rig_core.residual_stream` in its own process.

In: /policy/experience (steps of a state-observing policy_node: state, the features πθ saw, the residual uθ). Each
pair of consecutive steps is a transition, rewarded from the state reached by the task's reward function (insertion:
Eq. 48 dense or Eq. 47 sparse, `sawyer_sim.insertion.state_rewards`), and TD3 (or SAC) trains `updates_per_step`
gradient steps per transition after `learning_starts`, as `rig run --env insertion --residual` does in process. Out:
/trainer/weights (Weights kind "residual": the actor and its controller config, safetensors), every `publish_every`
gradient steps and, with `publish_when_idle`, when caught up; /trainer/metrics says when it is idle, which lock-step
episodes wait for (episode_node wait_for_trainer). With `checkpoint_dir` the whole learner (networks, optimizers,
replay, RNG states) is saved every `checkpoint_every` seconds and on shutdown, and a restart resumes from it. On
shutdown the last weights go to `save_dir` (residual_weights.safetensors) for evaluation or deployment.
"""

from __future__ import annotations

import collections
import json
import threading
import time
from pathlib import Path

import numpy as np
import torch
from rclpy._rclpy_pybind11 import RCLError
from rclpy.node import Node
from std_msgs.msg import String

from rig_core.errors import RigError
from rig_core.residual_rl import ResidualRLConfig
from rig_core.residual_stream import CHECKPOINT_FILE, ResidualStreamLearner
from rig_core.residual_weights import KIND
from rig_interfaces.msg import ExperienceStep, Weights
from rig_runtime.node_runner import run_node
from rig_runtime.params import declare_parameters
from rig_runtime.qos import LATCHED_QOS, METRICS_QOS, STREAM_QOS
from rig_runtime.scheduling import make_background

WEIGHTS_FILE = "residual_weights.safetensors"
TASKS = ("insertion",)


def task_reward(task: str, kind: str):
    """The task's reward of a measured state for its goal state (what the env returns, from the state alone)."""
    if task not in TASKS:
        raise RigError(f"task must be one of {TASKS}, got {task!r}")
    if kind not in ("dense", "sparse"):
        raise RigError(f"reward {kind!r}: this trainer computes the dense or sparse reward from the measured state")
    from sawyer_sim.insertion import state_rewards

    key = f"{kind}_reward"
    return lambda state, goal: state_rewards(state, goal)[key]


class ResidualTrainerNode(Node):
    def __init__(self) -> None:
        super().__init__("residual_trainer_node")
        self.p = declare_parameters(self, {
            "task": ("insertion", "contact task whose reward the trainer computes (insertion)", None),
            "config_overrides": ("{}", "JSON dict of ResidualRLConfig values, e.g. {\"kp\": 0, \"algo\": \"sac\"}", None),
            "publish_every": (200, "gradient steps between weight publications", (1, 10**9)),
            "publish_when_idle": (False, "also publish weights whenever training has caught up (lock-step)", None),
            "step_synchronous": (False, "take in one step at a time and train its updates before the next", None),
            "save_dir": ("", "directory for the last weights on shutdown ('' = none)", None),
            "checkpoint_dir": ("", "directory for learner checkpoints ('' = none); resumed from when present", None),
            "checkpoint_every": (60.0, "seconds between checkpoints", (1.0, 86400.0)),
            "nice": (10, "niceness added to this process (protects the control loop)", (0, 19)),
            "torch_threads": (1, "torch intra-op threads", (1, 64)),
            "seed": (0, "seed (unless config_overrides sets one)", (0, 2**31 - 1)),
        })
        p = self.p
        self.scheduling = make_background(p.nice, False, [])
        torch.set_num_threads(p.torch_threads)
        try:
            overrides = json.loads(p.config_overrides)
            if not isinstance(overrides, dict):
                raise RigError(f"config_overrides must be a JSON object, got {p.config_overrides!r}")
            overrides.setdefault("seed", p.seed)
            config = ResidualRLConfig.from_dict(overrides)
            self.learner = ResidualStreamLearner(config, task_reward(p.task, config.reward))
        except (RigError, ValueError) as err:
            raise RuntimeError(f"residual_trainer_node: {err}") from None
        self.config = config
        self.version, self.published_at, self.idle_at = 0, -1, -1
        self.checkpoint_dir = Path(p.checkpoint_dir) if p.checkpoint_dir else None
        if self.checkpoint_dir is not None and (self.checkpoint_dir / CHECKPOINT_FILE).is_file():
            try:
                self.version = int(self.learner.load(self.checkpoint_dir).get("version", 0))
                self.get_logger().info(f"resumed from {self.checkpoint_dir}: {self.learner.env_steps} transitions, "
                                       f"{self.learner.grad_steps} gradient steps, weights version {self.version}")
            except RigError as err:
                self.get_logger().error(f"cannot resume from {self.checkpoint_dir}: {err}; starting fresh")
        self.queue: collections.deque[ExperienceStep] = collections.deque()
        self.stop = threading.Event()
        self.weights_pub = self.create_publisher(Weights, "/trainer/weights", LATCHED_QOS)
        self.metrics_pub = self.create_publisher(String, "/trainer/metrics", METRICS_QOS)
        self.create_subscription(ExperienceStep, "/policy/experience", lambda m: self.queue.append(m), STREAM_QOS)
        self.publish_weights()
        self.get_logger().info(f"residual RL ({config.algo}, kp {config.kp}, bound {config.residual_bound}, "
                               f"{config.reward} reward) on {p.task}")
        self.thread = threading.Thread(target=self.train_loop, name="trainer", daemon=True)
        self.thread.start()

    def publish_weights(self) -> None:
        self.version += 1
        msg = Weights(kind=KIND, version=self.version, grad_steps=self.learner.grad_steps,
                      safetensors=self.learner.weights(self.version))
        msg.header.stamp = self.get_clock().now().to_msg()
        self.weights_pub.publish(msg)
        self.published_at = self.learner.grad_steps
        self.publish_metrics(idle=False)

    def publish_metrics(self, idle: bool) -> None:
        metrics = {"version": self.version, "grad_steps": self.learner.grad_steps, "env_steps": self.learner.env_steps,
                   "transitions": self.learner.replay.size, "vae_version": 0, "idle": idle}
        self.metrics_pub.publish(String(data=json.dumps(metrics)))

    def ingest(self, limit: int | None) -> int:
        """Take in queued steps until `limit` transitions are stored (None: all that are queued); how many were."""
        n = 0
        while self.queue and (limit is None or n < limit):
            msg = self.queue.popleft()
            try:
                stored = self.learner.add(msg.episode, msg.t, np.asarray(msg.latent, np.float32),
                                          np.asarray(msg.state, np.float64), np.asarray(msg.goal, np.float64),
                                          np.asarray(msg.residual, np.float32) if len(msg.residual) else None,
                                          msg.is_last)
            except RigError as err:
                self.get_logger().error(f"dropped experience step: {err}", throttle_duration_sec=5.0)
                continue
            n += int(stored)
        return n

    def save(self) -> None:
        if self.checkpoint_dir is not None:
            self.learner.save(self.checkpoint_dir, {"version": self.version})

    def train_loop(self) -> None:
        self.get_logger().info(f"training thread: {', '.join(self.scheduling) or 'default scheduling'}, "
                               f"{torch.get_num_threads()} torch thread(s)")
        last_checkpoint = time.monotonic()
        try:
            while not self.stop.is_set() and self.context.ok():
                self.ingest(1 if self.p.step_synchronous else None)
                budget = self.learner.update_budget()
                if budget > 0:
                    before = self.learner.grad_steps
                    self.learner.train(min(budget, 10))
                    if self.learner.grad_steps // self.p.publish_every > before // self.p.publish_every:
                        self.publish_weights()
                elif not self.queue:
                    if self.learner.env_steps != self.idle_at:
                        if self.p.publish_when_idle and self.published_at != self.learner.grad_steps:
                            self.publish_weights()
                        self.publish_metrics(idle=True)
                        self.idle_at = self.learner.env_steps
                    time.sleep(0.01)
                if time.monotonic() - last_checkpoint > self.p.checkpoint_every:
                    self.save()
                    last_checkpoint = time.monotonic()
        except RCLError:
            pass  # shutting down

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
        self.save()
        if self.p.save_dir:
            path = Path(self.p.save_dir) / WEIGHTS_FILE
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self.learner.weights(self.version))
            print(f"residual weights: {path} ({self.learner.env_steps} transitions, {self.learner.grad_steps} "
                  f"gradient steps)")


def main(args: list[str] | None = None) -> None:
    run_node(ResidualTrainerNode, args)


if __name__ == "__main__":
    main()
