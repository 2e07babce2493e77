"""policy_node: the 10 Hz control loop.

Each tick: action = residual TD3 actor(z, z_g) (+ OU exploration noise) scaled to m/s, plus the
P-controller −kp (x − x*) toward the goal's optional Cartesian target, then clipped to the workspace box
and speed limit (rig_core.residual). Zero velocity on a stale latent (> `stale_periods` control periods),
NaN anywhere, missing weights, no goal, or e-stop; the SpaceMouse overrides the policy while its button is
held (steps marked as demos). New weights are deserialized off the loop and swapped in between ticks.
Publishes the command, an ExperienceStep per step, and a JSON status line per tick (/policy/status).
Goals with source "eval" (held-out evaluation goals) run the deterministic policy and are not experience.
With CC-RIG weights (a CC-VAE) it acts only on latents whose ``context_stamp`` is the goal's stamp: z̄ encoded
with this episode's first frame s0, the frame the goal was conditioned on (thesis §3.4.2).

`observation: state` (residual RL on a contact task, thesis ch. 8–9): the policy acts on the measured state, the
hand's position (/robot/ee_pose, xyz) and the vertical force (/robot/wrench), paired by stamp, with residual weights
(rig_core.residual_weights, Weights.kind "residual"): u′ = πH(s) + b · πθ(s), the P-controller toward the goal's
target x* plus the bounded residual, as in process (rig_core.residual_rl), in 3-D under the same box, speed limit and
zero-velocity fallbacks. Each step records the state, the features πθ saw and the residual uθ (thesis Alg. 6).

Timing (`trigger: timer`): the loop runs in its own thread on an absolute monotonic deadline schedule
(clock_nanosleep, TIMER_ABSTIME), SCHED_FIFO when permitted, with the stale-latent watchdog in the four
sub-slots between ticks; the executor thread only takes messages in. In lock-step (`trigger: latent`) it
acts once per new latent instead, from the executor, and sends a command only when it consumed an
episode's latent (every command advances the sim one step; between episodes the graph waits for a reset).
"""

from __future__ import annotations

import gc
import json
import sys
import threading
import time

import numpy as np
from geometry_msgs.msg import PoseStamped, TwistStamped, WrenchStamped
from rclpy.node import Node
from sensor_msgs.msg import Joy
from std_msgs.msg import Bool, String

from rig_core.errors import RigError
from rig_core.noise import OUNoise
from rig_core.policy_weights import PolicyWeights, load_weights
from rig_core.residual import SafetyLimits, residual_velocity, safe_velocity
from rig_core.residual_rl import features
from rig_core.residual_weights import ResidualWeights
from rig_interfaces.msg import ExperienceStep, Goal, Latent, Weights
from rig_runtime.messages import stamp_ns
from rig_runtime.node_runner import run_node
from rig_runtime.params import declare_parameters
from rig_runtime.qos import COMMAND_QOS, LATCHED_QOS, STREAM_QOS
from rig_runtime.scheduling import DeadlineClock, make_realtime

WATCHDOG_SLOTS = 5  # watchdog checks per control period (the tick is slot 0)
HOLD_REPORT_AFTER = 5.0  # s of one reason to hold still before the log names it (/policy/status has every tick)
# Lock-step: ticks blocked for these reasons consumed no episode latent, so they send no command.
IDLE_REASONS = ("no goal", "no weights", "no latent", "no new latent", "latent older than the episode",
                "latent of another context", "episode done")


class PolicyNode(Node):
    def __init__(self) -> None:
        super().__init__("policy_node")
        self.p = declare_parameters(self, {
            "control_period": (0.1, "control period (s)", (0.001, 10.0)),
            "trigger": ("timer", "timer: act every control period; latent: act on each new latent (lock-step)", None),
            "stale_periods": (2.5, "zero velocity on latents older than this many periods (checked 5x a period)", (0.5, 100.0)),
            "max_speed": (0.25, "speed limit per axis (m/s); actor output 1 maps to it", (0.0, 2.0)),
            "kp": (0.0, "P-controller gain toward the goal's Cartesian target (1/s); residual weights bring their own",
                   (0.0, 20.0)),
            "observation": ("latent", "latent (VAE latents, /perception/latent) or state (hand xyz + f_z, residual RL)",
                            None),
            "workspace_low": ([-0.25, 0.45], "workspace box lower corner x, y (m; x, y, z for observation state)", None),
            "workspace_high": ([0.25, 0.75], "workspace box upper corner x, y (m; x, y, z for observation state)", None),
            "exploration_sigma": (0.3, "OU exploration noise sigma (0 for evaluation)", (0.0, 2.0)),
            "exploration_theta": (0.15, "OU exploration noise theta", (0.0, 1.0)),
            "teleop_timeout": (0.3, "teleop messages older than this (s) do not override", (0.0, 5.0)),
            "seed": (0, "exploration noise seed", (0, 2**31 - 1)),
            "control_loop": ("thread", "timer trigger: 'thread' (own thread, absolute deadlines) or 'executor' "
                             "(rclpy timers, for comparison)", None),
            "realtime_priority": (50, "SCHED_FIFO priority of the control thread (0: default scheduler)", (0, 99)),
        })
        p = self.p
        if p.trigger not in ("timer", "latent"):
            raise RuntimeError(f"policy_node: trigger must be 'timer' or 'latent', got {p.trigger!r}")
        if p.control_loop not in ("thread", "executor"):
            raise RuntimeError(f"policy_node: control_loop must be 'thread' or 'executor', got {p.control_loop!r}")
        if p.observation not in ("latent", "state"):
            raise RuntimeError(f"policy_node: observation must be 'latent' or 'state', got {p.observation!r}")
        self.dims = 3 if p.observation == "state" else 2  # axes the arm is commanded in
        if not (len(p.workspace_low) == len(p.workspace_high) == self.dims):
            raise RuntimeError(f"policy_node: workspace_low and workspace_high need {self.dims} values each for "
                               f"observation {p.observation}, got {list(p.workspace_low)} and {list(p.workspace_high)}")
        self.limits = SafetyLimits(tuple(p.workspace_low), tuple(p.workspace_high), p.max_speed, p.control_period)
        self.noise = OUNoise(2, p.exploration_theta, p.exploration_sigma, np.random.default_rng(p.seed))
        self.gaussian = np.random.default_rng(p.seed)  # residual TD3's exploration noise (as rig_core.residual_rl)
        self.weights: PolicyWeights | ResidualWeights | None = None
        self._incoming: PolicyWeights | ResidualWeights | None = None
        self._incoming_lock = threading.Lock()
        self.latent: Latent | None = None
        self.pose: PoseStamped | None = None
        self.goal: Goal | None = None
        self.estop = False
        self.teleop_twist: TwistStamped | None = None
        self.teleop_held_at: int | None = None  # ns of the last Joy with the override button held
        self.episode_active, self.t, self.last_latent_ns = False, 0, -1
        self.answered: tuple[int, TwistStamped] | None = None  # lock-step: (latent stamp, the command it got)
        self.hold_reason, self.hold_since = "", time.monotonic()
        self.cmd_pub = self.create_publisher(TwistStamped, "/robot/ee_velocity_cmd", COMMAND_QOS)
        self.exp_pub = self.create_publisher(ExperienceStep, "/policy/experience", STREAM_QOS)
        self.status_pub = self.create_publisher(String, "/policy/status", 10)
        self.wrench: WrenchStamped | None = None
        self.residual_out: np.ndarray | None = None  # the residual uθ of this tick (observation state)
        if p.observation == "state":
            self.create_subscription(PoseStamped, "/robot/ee_pose", self.on_state_pose, 10)
            self.create_subscription(WrenchStamped, "/robot/wrench", self.on_wrench, 10)
        else:
            self.create_subscription(Latent, "/perception/latent", self.on_latent, 10)
            self.create_subscription(PoseStamped, "/robot/ee_pose", lambda m: setattr(self, "pose", m), 10)
        self.create_subscription(Goal, "/episode/goal", self.on_goal, LATCHED_QOS)
        self.create_subscription(Weights, "/trainer/weights", self.on_weights, LATCHED_QOS)
        self.create_subscription(Bool, "/estop", self.on_estop, LATCHED_QOS)
        self.create_subscription(TwistStamped, "/teleop/twist", lambda m: setattr(self, "teleop_twist", m), 10)
        self.create_subscription(Joy, "/teleop/joy", self.on_joy, 10)
        self.moving = False
        self._state_lock = threading.Lock()  # the control thread vs. the executor's callbacks
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if p.trigger == "timer" and p.control_loop == "executor":
            self.create_timer(p.control_period, self.tick)
            self.create_timer(p.control_period / WATCHDOG_SLOTS, self.watchdog)
        elif p.trigger == "timer":
            sys.setswitchinterval(0.0002)  # the control thread gets the GIL within 0.2 ms of waking
            if p.realtime_priority > 1:
                # This (executor) thread and the weight loaders it starts share the GIL with the control
                # thread: one of them preempted by the trainer while holding it would stall the tick.
                make_realtime(p.realtime_priority - 1)
            self._thread = threading.Thread(target=self.control_loop, name="control", daemon=True)
            self._thread.start()

    # ---- inputs --------------------------------------------------------------------------------
    def on_weights(self, msg: Weights) -> None:
        data, version, kind = bytes(msg.safetensors), msg.version, msg.kind

        def load() -> None:  # off the control loop; the swap happens at the start of a tick
            try:
                weights = load_weights(data, kind)
            except RigError as err:
                self.get_logger().error(f"ignoring policy weights version {version}: {err}")
                return
            with self._incoming_lock:
                self._incoming = weights
            self.get_logger().info(f"policy weights version {version}")

        if self.p.trigger == "latent":
            load()  # lock-step: nothing runs between ticks, and the next tick must use these weights
            if self.latent is not None:  # a latent held back for want of weights is acted on now; a used one
                self.tick()               # gives "no new latent" and no command (lock-step never stalls here)
        else:
            threading.Thread(target=load, daemon=True).start()

    def on_estop(self, msg: Bool) -> None:
        self.estop = bool(msg.data)
        self.get_logger().warn(f"e-stop {'ENGAGED' if self.estop else 'released'}")

    def on_joy(self, msg: Joy) -> None:
        held = len(msg.buttons) > 0 and msg.buttons[0] == 1
        self.teleop_held_at = self.get_clock().now().nanoseconds if held else None

    def on_goal(self, msg: Goal) -> None:
        if self.goal is not None and msg.episode == self.goal.episode and msg.horizon != self.goal.horizon:
            with self._state_lock:  # the running episode re-sent with a new horizon ends there (demo_node)
                self.goal.horizon = msg.horizon
            return
        if self.goal is None or msg.episode != self.goal.episode:
            with self._state_lock:
                self.goal, self.t, self.episode_active = msg, 0, True
                self.noise.reset()
            if self.p.trigger == "latent" and self.latent is not None:
                self.tick()

    def on_state_pose(self, msg: PoseStamped) -> None:
        self.pose = msg
        self.state_observed()

    def on_wrench(self, msg: WrenchStamped) -> None:
        self.wrench = msg
        self.state_observed()

    def state_observed(self) -> None:
        """Observation state: a pose and a wrench make one observation (z = x, y, z, f_z), handled as a latent is
        (it triggers the lock-step tick; the pose's stamp is what staleness is measured on). Lock-step pairs them by
        equal stamps (the sim stamps both); on the arm (driver FK pose, intera's endpoint wrench) the wrench may be
        up to `stale_periods` control periods apart from the pose."""
        pose, wrench = self.pose, self.wrench
        if pose is None or wrench is None:
            return
        apart = abs(stamp_ns(pose.header.stamp) - stamp_ns(wrench.header.stamp))
        if apart > (0 if self.p.trigger == "latent" else self.p.stale_periods * self.p.control_period * 1e9):
            return
        same = self.latent is not None and stamp_ns(self.latent.header.stamp) == stamp_ns(pose.header.stamp)
        if same and self.p.trigger != "latent":
            return  # the same observation again (lock-step re-sends go to on_latent below)
        position = pose.pose.position
        msg = Latent(z=[position.x, position.y, position.z, wrench.wrench.force.z])
        msg.header = pose.header
        self.on_latent(msg)

    def on_latent(self, msg: Latent) -> None:
        answered = self.answered
        if self.p.trigger == "latent" and answered is not None and stamp_ns(msg.header.stamp) == answered[0]:
            # Lock-step: the sim re-sends an observation only when no command followed it (sim_node
            # republish_after), so the answer was lost (e.g. sent before the sim's subscription matched): resend.
            self.cmd_pub.publish(answered[1])
            return
        self.latent = msg
        if self.p.trigger == "latent":
            self.tick()

    # ---- the loop ------------------------------------------------------------------------------
    def control_loop(self) -> None:
        """Tick at t0 + k·period on the monotonic clock; watchdog checks in the sub-slots between ticks."""
        why_not = make_realtime(self.p.realtime_priority)
        log = self.get_logger()
        if why_not:
            log.warn(f"control thread on the default scheduler: {why_not}")
        else:
            log.info(f"control thread SCHED_FIFO priority {self.p.realtime_priority}")
        # Python's cyclic GC runs in whichever thread allocates and holds the GIL throughout: run it here,
        # in the slot after a tick, instead (existing objects frozen out of it).
        gc.freeze()
        gc.disable()
        clock = DeadlineClock(self.p.control_period / WATCHDOG_SLOTS, time.monotonic_ns())
        slot, skipped, ticks = 0, 0, 0
        last_warned: dict[str, float] = {}

        def warn(key: str, text: str) -> None:  # at most every 5 s per kind (rclpy's throttle is per call site
            now = time.monotonic()            # and not safe to share with the executor thread)
            if now - last_warned.get(key, -1e9) >= 5.0:
                last_warned[key] = now
                log.warn(text)
        while not self._stop.is_set() and self.context.ok():
            clock.wait()
            try:
                if clock.skipped != skipped:  # overran a whole sub-slot: restart the cycle with a tick
                    warn("overrun", f"control loop overran by {clock.skipped - skipped} sub-slot(s)")
                    skipped, slot = clock.skipped, 0
                if slot == 0:
                    self.tick()
                    ticks += 1
                else:
                    self.watchdog()
                    if slot == 1:
                        t0 = time.monotonic_ns()
                        gc.collect(2 if ticks % 600 == 0 else 0)
                        took = (time.monotonic_ns() - t0) / 1e6
                        if took > 2.0:
                            warn("gc", f"garbage collection took {took:.1f} ms")
            except Exception as err:  # never let the loop die: hold still and go on
                warn("error", f"control tick failed: {type(err).__name__}: {err}")
                if self.context.ok():
                    self.publish_command(np.zeros(self.dims), self.get_clock().now().nanoseconds)
            slot = (slot + 1) % WATCHDOG_SLOTS

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)

    def teleop_active(self, now: int) -> bool:
        timeout = int(self.p.teleop_timeout * 1e9)
        return (self.teleop_held_at is not None and now - self.teleop_held_at <= timeout
                and self.teleop_twist is not None and now - stamp_ns(self.teleop_twist.header.stamp) <= timeout)

    def blocked(self, now: int) -> str:
        """Why the arm must hold still this tick ('' when it may move)."""
        if self.estop:
            return "e-stop"
        if self.goal is None or not self.episode_active:
            return "no goal"
        if self.weights is None:
            return "no weights"
        latent = self.latent
        if latent is None:
            return "no latent"
        if now - stamp_ns(latent.header.stamp) > self.p.stale_periods * self.p.control_period * 1e9:
            return "stale latent"
        if stamp_ns(latent.header.stamp) < stamp_ns(self.goal.header.stamp):
            return "latent older than the episode"
        if self.p.trigger == "latent" and stamp_ns(latent.header.stamp) == self.last_latent_ns:
            return "no new latent"
        if self.weights.contextual and stamp_ns(latent.context_stamp) != stamp_ns(self.goal.header.stamp):
            return "latent of another context"  # CC-RIG: z̄ must carry this episode's s0 (the encoder re-sends it)
        z, g = np.asarray(latent.z, np.float32), np.asarray(self.goal.latent, np.float32)
        if isinstance(self.weights, ResidualWeights) != (self.p.observation == "state"):
            return f"{'residual' if isinstance(self.weights, ResidualWeights) else 'RIG'} weights do not fit " \
                   f"observation {self.p.observation}"
        if isinstance(self.weights, ResidualWeights):
            n = self.weights.state_dim
            if z.size != n or g.size != n:
                return f"state/goal size {z.size}/{g.size} does not fit the residual policy ({n})"
            if not self.goal.has_target:
                return "goal without a controller target"
        elif z.shape != g.shape or z.size != self.weights.vae.latent_dim:
            return f"latent/goal size {z.size}/{g.size} does not fit the policy ({self.weights.vae.latent_dim})"
        if not (np.all(np.isfinite(z)) and np.all(np.isfinite(g))):
            return "non-finite latent or goal"
        return ""

    def tick(self) -> None:
        with self._state_lock:
            self._tick(self.get_clock().now().nanoseconds)

    def _tick(self, now: int) -> None:
        with self._incoming_lock:
            if self._incoming is not None:
                self.weights, self._incoming = self._incoming, None
        reason = self.blocked(now)
        self.note_hold(reason)
        velocity, action, is_demo = np.zeros(self.dims), np.zeros(self.dims, np.float32), False
        self.residual_out = None
        position = (np.array([self.pose.pose.position.x, self.pose.pose.position.y, self.pose.pose.position.z][:self.dims])
                    if self.pose else None)
        evaluating = self.goal is not None and self.goal.source == "eval"
        if not reason and self.goal.horizon and self.t >= self.goal.horizon:
            if not evaluating:
                self.publish_step(is_demo=False, action=[], is_last=True)  # final observation of the episode
            self.episode_active = False
            reason = "episode done"
        elif not reason:
            if self.teleop_active(now):
                tw = self.teleop_twist.twist.linear
                velocity, is_demo = np.array([tw.x, tw.y, tw.z][:self.dims]), True
            elif isinstance(self.weights, ResidualWeights):
                velocity = self.residual_command(evaluating)
            else:
                if self.weights.exploring and not evaluating:  # before the VAE is trained: noise only, as rig run
                    residual = np.clip(self.noise.sample(), -1.0, 1.0)
                else:
                    residual = self.weights.act(np.asarray(self.latent.z, np.float32), np.asarray(self.goal.latent, np.float32))
                    residual = np.clip(residual if evaluating else residual + self.noise.sample(), -1.0, 1.0)
                target = np.array([self.goal.target.x, self.goal.target.y]) if self.goal.has_target else None
                velocity = residual_velocity(residual, self.p.max_speed, position, target, self.p.kp)
            if not np.all(np.isfinite(velocity)):
                reason, velocity = "non-finite action", np.zeros(self.dims)
            velocity = safe_velocity(velocity, position, self.limits)
            action = (velocity / max(self.p.max_speed, 1e-9)).astype(np.float32)
        if self.p.trigger == "latent" and reason not in IDLE_REASONS and self.latent is not None:
            # Lock-step: the command is stamped with the observation it answers; the sim steps only on that.
            image_ns = stamp_ns(self.latent.header.stamp)
            self.answered = (image_ns, self.publish_command(velocity, image_ns))
        elif self.p.trigger != "latent":
            self.publish_command(velocity, now)
        if not reason:
            if not evaluating:
                self.publish_step(is_demo, action.tolist(), is_last=False)
            self.t += 1
        if self.latent is not None and (not reason or reason not in IDLE_REASONS[:-1]):  # this latent is used up
            self.last_latent_ns = stamp_ns(self.latent.header.stamp)
        status = {"tick_ns": now, "reason": reason, "t": self.t, "episode": self.goal.episode if self.goal else -1,
                  "image_ns": stamp_ns(self.latent.header.stamp) if self.latent else 0,
                  "policy_version": self.weights.version if self.weights else 0, "velocity": velocity.tolist()}
        self.status_pub.publish(String(data=json.dumps(status)))

    def note_hold(self, reason: str) -> None:
        """Log a reason the arm has held still for `HOLD_REPORT_AFTER` s (steady time), at most every 10 s."""
        now = time.monotonic()
        if reason != self.hold_reason:
            self.hold_reason, self.hold_since = reason, now
        elif reason and reason != "episode done" and now - self.hold_since >= HOLD_REPORT_AFTER:
            self.get_logger().info(f"holding still for {now - self.hold_since:.0f} s: {reason}",
                                   throttle_duration_sec=10.0)

    def goal_state_and_target(self) -> tuple[np.ndarray, np.ndarray]:
        """Observation state: the goal's state and the controller's target x* (xyz)."""
        target = self.goal.target
        return np.asarray(self.goal.latent, np.float64), np.array([target.x, target.y, target.z])

    def residual_command(self, evaluating: bool) -> np.ndarray:
        """u′ = πH(s) + b · πθ(s) (Eq. 49) in m/s: action 1 is `max_speed`, one env step's `max_speed · period`.
        Exploration as in process: TD3 adds N(0, σ) to the residual, SAC samples it."""
        w, z = self.weights, np.asarray(self.latent.z, np.float64)
        goal, target = self.goal_state_and_target()
        policy = w.policy(self.p.max_speed * self.p.control_period, stochastic=not evaluating)
        noise = None
        if not evaluating and w.config.algo == "td3":
            noise = self.gaussian.normal(0.0, w.config.exploration_sigma, 3).astype(np.float32)
        action, self.residual_out = policy({"state": z, "goal_state": goal}, target, noise)
        return np.asarray(action, np.float64) * self.p.max_speed

    def watchdog(self) -> None:
        """Between ticks: stop the arm as soon as the latent goes stale or e-stop engages."""
        now = self.get_clock().now().nanoseconds
        with self._state_lock:
            if self.moving and self.blocked(now) in ("stale latent", "e-stop"):
                self.publish_command(np.zeros(self.dims), now)

    def publish_command(self, velocity: np.ndarray, stamp: int) -> TwistStamped:
        """Send `velocity` stamped `stamp` ns (the tick time; in lock-step, the answered observation's)."""
        self.moving = bool(np.any(velocity))
        cmd = TwistStamped()
        cmd.header.stamp.sec, cmd.header.stamp.nanosec = divmod(stamp, 1_000_000_000)
        cmd.header.frame_id = "base"
        cmd.twist.linear.x, cmd.twist.linear.y = float(velocity[0]), float(velocity[1])
        if len(velocity) > 2:
            cmd.twist.linear.z = float(velocity[2])
        self.cmd_pub.publish(cmd)
        return cmd

    def publish_step(self, is_demo: bool, action: list[float], is_last: bool) -> None:
        latent = self.latent
        step = ExperienceStep(image=latent.image, latent=list(latent.z), goal=list(self.goal.latent), action=action,
                              episode=self.goal.episode, t=self.t, is_demo=is_demo, is_last=is_last,
                              policy_version=self.weights.version, vae_version=latent.vae_version)
        step.header = latent.header
        if self.pose is not None:
            step.ee_pose = self.pose.pose
        if isinstance(self.weights, ResidualWeights):  # the state, πθ's input and the residual uθ (Alg. 6's replay)
            goal, target = self.goal_state_and_target()
            step.state = list(latent.z)
            step.latent = features(np.asarray(latent.z, np.float64), goal, target).tolist()
            step.residual = [] if self.residual_out is None or is_last else self.residual_out.tolist()
        self.exp_pub.publish(step)


def main(args: list[str] | None = None) -> None:
    import torch

    torch.set_num_threads(1)
    run_node(PolicyNode, args)


if __name__ == "__main__":
    main()
