"""trainer_node: the asynchronous RIG learner in its own process.

Experience steps from the policy go into the image replay (rig_core); a training thread pre-trains the VAE
after `exploration_steps`, then runs TD3 on relabeled batches (`updates_per_step` per received step) and
publishes versioned actor + VAE weights every `publish_every` gradient steps and, with `publish_when_idle`,
whenever it has caught up with the received steps (reliable, transient-local, safetensors bytes); /trainer/metrics says when it is
idle, which lock-step episodes wait for. With several `experience_topics` (one per arm, e.g. /arm0/policy/experience) it
keeps one replay with the arm of every transition (rig_core.experience_stream.MultiArmAssembler) and its one weights
stream serves every arm's policy. It checkpoints (tensors only) every `checkpoint_every` seconds and on shutdown, and
resumes from the checkpoint after a restart. `device` (cpu, cuda, cuda:N) is where the VAE and the learner train
(a GPU workstation's trainer); the replay stays on the CPU and the published weights are CPU tensors.
It keeps off the 10 Hz loop's cores: one torch thread, niced, optionally pinned to `cpus` (the control loop
itself runs SCHED_FIFO). In lock-step, where the graph waits on the trainer, `pretrain_threads` and
`catch_up_threads` give the VAE pre-training and the TD3 updates after each episode's last step every core.
SCHED_IDLE for the training thread is available but off: the thread holds the GIL that the executor (messages,
shutdown) needs, and under CPU load a SCHED_IDLE thread holding it barely runs, so the node stalls (seen: a 30 s
stop timeout).
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

from rig_core.agent import RIGAgent
from rig_core.checkpoint import MODEL_FILE, load_checkpoint, policy_bytes, save_checkpoint
from rig_core.config import default_config
from rig_core.device import DEVICE_HELP, parse_device, torch_threads
from rig_core.errors import RigError
from rig_core.experience_stream import EpisodeAssembler, MultiArmAssembler
from rig_core.skewfit import skew_active, vae_training_due
from rig_interfaces.msg import ExperienceStep, Weights
from rig_runtime.node_runner import run_node
from rig_runtime.params import declare_parameters
from rig_runtime.qos import LATCHED_QOS, METRICS_QOS, STREAM_QOS
from rig_runtime.scheduling import make_background
from rig_trainer import finetune


class _Stop(Exception):
    pass


class TrainerNode(Node):
    def __init__(self) -> None:
        super().__init__("trainer_node")
        self.p = declare_parameters(self, {
            "env": ("reacher", "env whose RIG defaults to use (reacher, pusher, multi_pusher)", None),
            "config_overrides": ("{}", "JSON dict of RIGConfig overrides, e.g. {\"vae\": {\"latent_dim\": 4}}", None),
            "exploration_steps": (-1, "steps before VAE pre-training (-1: the config's)", (-1, 10**9)),
            "vae_pretrain_batches": (-1, "VAE pre-training batches (-1: the config's)", (-1, 10**9)),
            "replay_capacity": (100_000, "replay buffer capacity (frames)", (1000, 10**8)),
            "updates_per_step": (-1.0, "TD3 gradient steps per received env step (-1: the config's)", (-1.0, 1000.0)),
            "publish_every": (200, "gradient steps between weight publications", (1, 10**9)),
            "publish_when_idle": (False, "also publish weights whenever training has caught up (lock-step)", None),
            "step_synchronous": (False, "take in one step at a time and train its updates_per_step before the next, "
                                 "as the in-process loop does (deterministic in lock-step)", None),
            "checkpoint_dir": ("", "directory for checkpoints ('' = none); resumed from when present", None),
            "checkpoint_every": (60.0, "seconds between checkpoints", (1.0, 86400.0)),
            "nice": (10, "niceness added to this process (protects the control loop)", (0, 19)),
            "sched_idle": (False, "run the training thread under SCHED_IDLE (Linux). Off by default: it shares "
                                  "the GIL with the executor, which then waits on a starved thread under load", None),
            "cpus": ("", "comma-separated CPUs the trainer may use ('' = any), e.g. '1'", None),
            "torch_threads": (1, "torch intra-op threads", (1, 64)),
            "pretrain_threads": (0, "torch threads for the VAE pre-training (0: torch_threads). In lock-step the "
                                    "graph takes no step until it ends, so it may use every core", (0, 64)),
            "catch_up_threads": (0, "torch threads for the TD3 updates while every arm's latest step ends its episode "
                                    "(0: torch_threads). A lock-step graph then waits on the trainer, so its cores "
                                    "are free", (0, 64)),
            "device": ("cpu", DEVICE_HELP, None),
            "seed": (0, "seed", (0, 2**31 - 1)),
            "init_checkpoint": ("", "offline_train output to fine-tune from ('' = none; rig_trainer.finetune)", None),
            "demo_bags": ("", "comma-separated bags whose steps go into the replay, demos flagged", None),
            "goals": ("prior", "goal sampling for relabeling and VAE training: prior (RIG) or skewfit (thesis ch. 4)", None),
            "skew_alpha": (1.0, "Skew-Fit's α (Eq. 9); 1 = the env's default (thesis Table 13)", (-10.0, 1.0)),
            "experience_topics": ("/policy/experience", "comma-separated experience topics, one per arm (several "
                                  "arms: the replay records which arm took each transition)", None),
        })
        p = self.p
        try:
            cpus = [int(c) for c in p.cpus.split(",") if c.strip()]
        except ValueError:
            raise RuntimeError(f"trainer_node: cpus must be comma-separated integers, got {p.cpus!r}") from None
        self.scheduling = make_background(p.nice, False, cpus)  # this thread; the training thread inherits it
        torch.set_num_threads(p.torch_threads)
        overrides = json.loads(p.config_overrides)
        for key, value in (("exploration_steps", p.exploration_steps), ("replay_capacity", p.replay_capacity)):
            if value >= 0:
                overrides[key] = value
        if p.vae_pretrain_batches >= 0:
            overrides.setdefault("vae", {})["pretrain_batches"] = p.vae_pretrain_batches
        if p.updates_per_step >= 0:
            overrides.setdefault("td3", {})["updates_per_step"] = round(p.updates_per_step)
        overrides.setdefault("seed", p.seed)
        overrides.setdefault("goals", p.goals)
        if p.skew_alpha <= 0:
            overrides.setdefault("skewfit", {})["alpha"] = p.skew_alpha
        if p.init_checkpoint:  # relabel as offline training did: imagined goals undid it (benchmarks/RESULTS.md)
            overrides.setdefault("relabel", "future")
        try:
            self.device = parse_device(p.device)
            self.config = default_config(p.env, total_steps=10**9, **overrides)
            if p.init_checkpoint:
                self.config = finetune.finetune_config(self.config, p.init_checkpoint)
        except RigError as err:
            raise RuntimeError(f"trainer_node: {err}") from None
        if self.config.goals == "env":
            raise RuntimeError("trainer_node: goals=env draws goals from the simulator's own goal states, which a "
                               "trainer has no access to (rig run only): use prior or skewfit")
        self.agent = RIGAgent(self.config, device=self.device)
        self.arm_topics = [t.strip() for t in p.experience_topics.split(",") if t.strip()]
        if not self.arm_topics:
            raise RuntimeError("trainer_node: experience_topics names no topic")
        if self.agent.contextual and len(self.arm_topics) > 1:  # MultiArmAssembler re-encodes frames without s0
            raise RuntimeError("trainer_node: vae.model=ccvae (CC-RIG) takes one arm's experience topic")
        self.assembler = EpisodeAssembler(self.agent.buffer)  # one arm: steps go in as they come
        self.context_frame: np.ndarray | None = None  # CC-RIG: s0 of the episode being stored
        self.arms = MultiArmAssembler(self.agent.buffer, self.agent.encode) if len(self.arm_topics) > 1 else None
        self.version, self.grad_steps, self.steps_at_pretrain = 0, 0, 0
        self.schedule_checked = 0  # env steps already checked against Skew-Fit's VAE schedule
        self.published_at, self.idle_at = (-1, -1), -1  # (grad steps, VAE version) of the last weights; env steps
        self.checkpoint_dir = Path(p.checkpoint_dir) if p.checkpoint_dir else None
        if self.checkpoint_dir is not None and (self.checkpoint_dir / MODEL_FILE).is_file():
            self.resume()
        elif p.init_checkpoint or p.demo_bags:
            self.get_logger().info(finetune.start(self.agent, p.init_checkpoint, [b for b in p.demo_bags.split(",") if b]))
        self.queue: collections.deque[tuple[int, ExperienceStep]] = collections.deque()
        self.stop = threading.Event()
        self.weights_pub = self.create_publisher(Weights, "/trainer/weights", LATCHED_QOS)
        self.metrics_pub = self.create_publisher(String, "/trainer/metrics", METRICS_QOS)
        self.episode_ended = [False] * len(self.arm_topics)  # per arm: its latest received step was an is_last
        for arm, topic in enumerate(self.arm_topics):
            self.create_subscription(ExperienceStep, topic, lambda m, arm=arm: self.receive(arm, m), STREAM_QOS)
        self.publish_weights()
        self.thread = threading.Thread(target=self.train_loop, name="trainer", daemon=True)
        self.thread.start()

    # ---- checkpoints ---------------------------------------------------------------------------
    def resume(self) -> None:
        try:
            progress = load_checkpoint(self.agent, self.checkpoint_dir)
        except RigError as err:
            self.get_logger().error(f"cannot resume from {self.checkpoint_dir}: {err}; starting fresh")
            return
        self.version = int(progress.get("version", 0))
        self.grad_steps = int(progress.get("grad_steps", 0))
        self.steps_at_pretrain = int(progress.get("steps_at_pretrain", 0))
        self.schedule_checked = int(progress.get("schedule_checked", self.agent.buffer.env_steps))
        if self.config.goals == "skewfit" and skew_active(self.config.skewfit.schedule, self.schedule_checked):
            self.agent.refresh_skew()
        self.get_logger().info(f"resumed from {self.checkpoint_dir}: {len(self.agent.buffer)} transitions, "
                               f"{self.grad_steps} gradient steps, weights version {self.version}")

    def save(self) -> None:
        if self.checkpoint_dir is None:
            return
        progress = {"version": self.version, "grad_steps": self.grad_steps, "steps_at_pretrain": self.steps_at_pretrain,
                    "schedule_checked": self.schedule_checked}
        save_checkpoint(self.agent, self.checkpoint_dir, progress)
        print(f"checkpoint: {len(self.agent.buffer)} transitions, {self.grad_steps} gradient steps")

    # ---- publishing ----------------------------------------------------------------------------
    def publish_weights(self) -> None:
        self.version += 1
        msg = Weights(kind="policy", version=self.version, grad_steps=self.grad_steps,
                      safetensors=policy_bytes(self.agent, self.version))
        msg.header.stamp = self.get_clock().now().to_msg()
        if not self.context.ok():
            raise _Stop
        self.weights_pub.publish(msg)
        self.published_at = self.grad_steps, self.agent.vae_version
        self.publish_metrics(idle=False)

    def publish_metrics(self, idle: bool) -> None:
        """`idle`: every received step is trained on (the update budget is spent) and the latest weights are out."""
        metrics = {"version": self.version, "grad_steps": self.grad_steps, "env_steps": self.agent.buffer.env_steps,
                   "transitions": len(self.agent.buffer), "vae_version": self.agent.vae_version, "idle": idle}
        if self.arms is not None:
            metrics["arm_env_steps"] = [self.arms.arm_steps.get(arm, 0) for arm in range(len(self.arm_topics))]
        self.metrics_pub.publish(String(data=json.dumps(metrics)))

    # ---- the training thread -------------------------------------------------------------------
    def receive(self, arm: int, msg: ExperienceStep) -> None:
        self.episode_ended[arm] = msg.is_last
        self.queue.append((arm, msg))

    def update_threads(self) -> int:
        """torch threads for the next TD3 updates: `catch_up_threads` while every arm's latest step ended its
        episode (a lock-step graph is then waiting on the trainer and its cores are idle), else `torch_threads`."""
        p = self.p
        wanted = p.catch_up_threads if p.catch_up_threads and all(self.episode_ended) else p.torch_threads
        if torch.get_num_threads() != wanted:
            torch.set_num_threads(wanted)
        return wanted

    def ingest(self, limit: int | None = None) -> int:
        n = 0
        size = self.config.image_size
        while self.queue and (limit is None or n < limit):
            arm, msg = self.queue.popleft()
            img = msg.image
            if (img.height, img.width, img.encoding) != (size, size, "rgb8") or len(img.data) != size * size * 3:
                self.get_logger().error(f"dropped experience step: image must be {size}x{size} rgb8",
                                        throttle_duration_sec=5.0)
                continue
            frame = np.frombuffer(bytes(img.data), np.uint8).reshape(size, size, 3)
            action = np.asarray(msg.action, np.float32) if len(msg.action) else None
            goal = np.asarray(msg.goal, np.float32)
            try:
                if self.arms is not None:
                    self.arms.add(arm, msg.episode, msg.t, frame, action, goal, msg.is_last)
                else:
                    if self.agent.contextual and self.assembler.starts_episode(msg.episode, msg.t):
                        self.context_frame = frame  # CC-RIG: the stored episode's first frame is its s0
                    z, logvar = self.agent.encode(frame, self.context_frame)
                    self.assembler.add(msg.episode, msg.t, frame, z[0], logvar[0], action, goal, msg.is_last)
            except RigError as err:
                self.get_logger().error(f"dropped experience step of {self.arm_topics[arm]}: {err}", throttle_duration_sec=5.0)
                continue
            n += 1
        return n

    def train_loop(self) -> None:
        applied = self.scheduling + make_background(0, self.p.sched_idle, None)
        self.get_logger().info(f"training thread: {', '.join(applied) or 'default scheduling'}, "
                               f"{torch.get_num_threads()} torch thread(s), device {self.device}")
        cfg, buf = self.config, self.agent.buffer
        last_checkpoint = time.monotonic()
        try:
            while not self.stop.is_set() and self.context.ok():
                self.ingest(1 if self.p.step_synchronous else None)
                if self.agent.vae_version == 0 and buf.env_steps >= cfg.exploration_steps and buf.env_steps > 0:
                    threads = self.p.pretrain_threads or self.p.torch_threads
                    self.get_logger().info(f"VAE pre-training on {buf.stored_frame_count()} frames, "
                                           f"{threads} torch thread(s)")
                    with torch_threads(threads):
                        self.agent.train_vae_on_replay(cfg.vae.pretrain_batches, on_batch=self._check_stop)
                    self.steps_at_pretrain = buf.env_steps
                    self.publish_weights()
                if cfg.goals == "skewfit":
                    self.skewfit_vae_step()
                budget = int(cfg.td3.updates_per_step * (buf.env_steps - self.steps_at_pretrain)) - self.grad_steps
                rl_started = cfg.goals != "skewfit" or self.steps_at_pretrain > 0
                if self.agent.vae_version > 0 and rl_started and len(buf) >= cfg.td3.batch_size and budget > 0:
                    n = min(budget, 10)
                    self.update_threads()
                    self.agent.train(n)
                    before, self.grad_steps = self.grad_steps, self.grad_steps + n
                    if self.grad_steps // self.p.publish_every > before // self.p.publish_every:
                        self.publish_weights()
                else:
                    waiting_for_vae = self.agent.vae_version == 0 and buf.env_steps >= cfg.exploration_steps
                    if not self.queue:
                        if not waiting_for_vae and buf.env_steps != self.idle_at:
                            if self.p.publish_when_idle and self.published_at != (self.grad_steps, self.agent.vae_version):
                                self.publish_weights()  # caught up: the policy gets what it has trained so far
                            self.publish_metrics(idle=True)  # lock-step episodes wait for this (episode_node)
                            self.idle_at = buf.env_steps
                        time.sleep(0.01)
                if time.monotonic() - last_checkpoint > self.p.checkpoint_every:
                    self.save()
                    last_checkpoint = time.monotonic()
        except (_Stop, RCLError):
            pass  # shutting down

    def skewfit_vae_step(self) -> None:
        """Skew-Fit's online VAE training when the received steps pass a point of its schedule (thesis App. C.3.5).

        RL starts after `exploration_steps`, as the thesis delays it (App. C.3.3); the VAE is trained from the start."""
        buf, cfg = self.agent.buffer, self.config
        due = None
        for step in range(self.schedule_checked + 1, buf.env_steps + 1):
            due = vae_training_due(cfg.skewfit.schedule, step) or due
        self.schedule_checked = buf.env_steps
        if due is not None:
            n_batches, skewed = due
            self.agent.train_vae_on_replay(n_batches, on_batch=self._check_stop, skewed=skewed)
            self.publish_weights()
        if self.steps_at_pretrain == 0 and buf.env_steps >= cfg.exploration_steps and self.agent.vae_version > 0:
            self.steps_at_pretrain = buf.env_steps  # the TD3 update budget counts from here

    def _check_stop(self, *_: object) -> None:
        if self.stop.is_set():
            raise _Stop

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
        self.save()


def main(args: list[str] | None = None) -> None:
    run_node(TrainerNode, args)


if __name__ == "__main__":
    main()
