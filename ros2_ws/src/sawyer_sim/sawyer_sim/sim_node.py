"""sim_node: the MuJoCo Sawyer behind the arm's and camera's topics.

In: /robot/ee_velocity_cmd (TwistStamped, m/s: x, y; and z for an env with 3-D actions, the insertion task).
Out: /camera/image_raw, /robot/ee_pose, /robot/joint_states, /robot/wrench (the vertical force f_z, for an env that
measures it), /sim/state (ground truth, evaluation only), /sim/reset (rig_interfaces/srv/Reset; an optional
goal_state sets the scene's goal, for held-out evaluation goals; the answer carries the scene's goal and, where the
task has a hand-designed controller, its target x* with the calibration error the env drew).
Modes: "realtime" steps physics every control period on the wall clock with the latest command (zero when
commands stop for `command_timeout`, like the arm's deadman); "lockstep" advances one control period per
command that answers the current observation (stamped with its time; others are ignored) and publishes /clock,
so every node on use_sim_time runs in simulated time. An observation nobody answered for `republish_after`
wall-clock seconds is sent again (a subscriber that matched late would otherwise stall the chain).
"""

from __future__ import annotations

import json
import time

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import PoseStamped, TwistStamped, WrenchStamped
from rclpy.clock import Clock as RosClock
from rclpy.clock import ClockType
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Image, JointState

import sawyer_sim
from rig_interfaces.msg import SimState
from rig_interfaces.srv import Reset
from rig_runtime.messages import stamp_ns, time_msg
from rig_runtime.node_runner import run_node
from rig_runtime.params import declare_parameters
from rig_runtime.qos import POSE_QOS, image_qos
from sawyer_sim.tasks import HAND_Z, MAX_STEP


class SimNode(Node):
    """Wraps one `sawyer_sim` env; a command's linear x/y velocity becomes the env's normalised action."""

    def __init__(self) -> None:
        super().__init__("sim_node")
        p = declare_parameters(self, {
            "env": ("reacher", "sawyer_sim env: reacher, pusher, insertion, ... (sawyer_sim.make)", None),
            "image_size": (48, "camera image side in pixels", None),
            "env_kwargs": ("{}", "JSON dict of further sawyer_sim.make arguments, e.g. {\"target_error\": 0.006}", None),
            "seed": (0, "env seed", None),
            "control": ("mocap", "how the hand moves: mocap weld, or driver (the real arm driver's controller)", None),
            "mode": ("realtime", "realtime (wall clock) or lockstep (one control period per command, publishes /clock)",
                     None),
            "control_period": (0.1, "seconds of simulated time per env step (the env's frame_skip x timestep)", None),
            "command_timeout": (0.2, "realtime: seconds without a command before the arm holds still", None),
            "reliable_images": (False, "publish images reliable instead of sensor-data QoS (lock-step)", None),
            "republish_after": (2.0, "lock-step: wall-clock seconds without a command before the last observation "
                                     "is sent again, same stamp (a consumer that was not yet listening; 0 = never)", None),
        })
        self.mode = p.mode
        if self.mode not in ("realtime", "lockstep"):
            raise RuntimeError(f"sim_node: mode must be 'realtime' or 'lockstep', got {self.mode!r}")
        self.period = float(p.control_period)
        self.command_timeout = float(p.command_timeout)
        self.republish_after = float(p.republish_after)
        self.published_at = time.monotonic()
        try:
            extra = json.loads(p.env_kwargs)
            if not isinstance(extra, dict):
                raise ValueError(f"env_kwargs must be a JSON object, got {p.env_kwargs!r}")
            self.env = sawyer_sim.make(p.env, image_size=int(p.image_size), seed=int(p.seed), control=p.control, **extra)
        except (ValueError, TypeError) as err:
            raise RuntimeError(f"sim_node: {err}") from None
        self.joint_names = [self.env.model.joint(i).name for i in range(self.env.model.njnt)
                            if self.env.model.jnt_type[i] == 3]  # hinge joints of the arm
        self.joint_adr = [int(self.env.model.joint(n).qposadr[0]) for n in self.joint_names]
        self.dims = int(getattr(self.env, "action_dim", 2))  # commanded axes: xy, or xyz (insertion)
        self.max_step = float(getattr(self.env, "max_step", MAX_STEP))
        self.sim_ns = 0
        self.command = np.zeros(self.dims)
        self.command_time = -1e9
        self.commands_received = 0
        self.steps = 0
        self.image_pub = self.create_publisher(Image, "/camera/image_raw", image_qos(bool(p.reliable_images)))
        self.pose_pub = self.create_publisher(PoseStamped, "/robot/ee_pose", POSE_QOS)
        self.joint_pub = self.create_publisher(JointState, "/robot/joint_states", 10)
        self.state_pub = self.create_publisher(SimState, "/sim/state", 10)
        self.obs, self.info = self.env.reset(seed=int(p.seed))
        self.wrench_pub = self.create_publisher(WrenchStamped, "/robot/wrench", POSE_QOS) if "f_z" in self.info else None
        self.clock_pub = self.create_publisher(Clock, "/clock", 10) if self.mode == "lockstep" else None
        self.create_subscription(TwistStamped, "/robot/ee_velocity_cmd", self.on_command, 10)
        self.create_service(Reset, "/sim/reset", self.on_reset)
        if self.mode == "realtime":
            self.create_timer(self.period, self.tick)
        elif self.republish_after > 0:  # steady clock: /clock stands still while nobody commands
            self.create_timer(self.republish_after / 4, self.republish_if_idle, clock=RosClock(clock_type=ClockType.STEADY_TIME))
        self.publish_observation()
        self.get_logger().info(f"{p.env} in {self.mode} mode, {self.period:.3f} s per step")

    def now_ns(self) -> int:
        return self.sim_ns if self.mode == "lockstep" else self.get_clock().now().nanoseconds

    def advance_clock(self) -> None:
        self.sim_ns += round(self.period * 1e9)
        self.clock_pub.publish(Clock(clock=time_msg(self.sim_ns)))

    def on_command(self, msg: TwistStamped) -> None:
        v = np.array([msg.twist.linear.x, msg.twist.linear.y, msg.twist.linear.z][:self.dims], np.float64)
        if not np.all(np.isfinite(v)):
            self.get_logger().error(f"rejected non-finite velocity command {v.tolist()}: holding still")
            v = np.zeros(self.dims)
        if self.mode == "lockstep" and stamp_ns(msg.header.stamp) != self.sim_ns:
            # A command answers the observation stamped like it; one for an older observation (a duplicate
            # answer to a re-sent one, or the last episode's) must not step this one.
            self.get_logger().warn(f"lock-step: ignored a command for observation {stamp_ns(msg.header.stamp)} ns "
                                   f"(current {self.sim_ns} ns)", throttle_duration_sec=5.0)
            return
        self.command, self.command_time = v, time.monotonic()
        self.commands_received += 1
        if self.mode == "lockstep":
            self.step(v)

    def tick(self) -> None:
        fresh = time.monotonic() - self.command_time <= self.command_timeout
        self.step(self.command if fresh else np.zeros(self.dims))

    def republish_if_idle(self) -> None:
        """Lock-step: the chain waits on this node's last observation; if no command followed it for
        `republish_after` s (e.g. the policy subscribed after it was sent), send it again, same stamp."""
        if time.monotonic() - self.published_at >= self.republish_after:
            self.get_logger().info(f"no command for {self.republish_after:.1f} s: observation re-sent",
                                   throttle_duration_sec=30.0)
            self.publish_observation(self.sim_ns)

    def step(self, velocity: np.ndarray) -> None:
        action = np.clip(velocity * self.period / self.max_step, -1.0, 1.0)
        self.obs, _, _, _, self.info = self.env.step(action)
        self.steps += 1
        if self.mode == "lockstep":
            self.advance_clock()
        self.publish_observation()

    def on_reset(self, request: Reset.Request, response: Reset.Response) -> Reset.Response:
        options = {"goal_state": np.asarray(request.goal_state, np.float64)} if len(request.goal_state) else None
        try:
            self.obs, self.info = self.env.reset(seed=int(request.seed) if request.seed >= 0 else None, options=options)
        except ValueError as err:
            response.success, response.message = False, str(err)
            return response
        self.command, self.steps = np.zeros(self.dims), 0
        if self.mode == "lockstep":
            self.advance_clock()
        stamp = self.publish_observation()
        response.success, response.message, response.stamp = True, "env reset", stamp
        response.ee_pose = self.pose_msg(stamp).pose
        response.goal_state = [float(v) for v in self.obs["goal_state"]]
        target = getattr(self.env, "controller_target", None)
        if target is not None:
            response.has_target = True
            response.target.x, response.target.y, response.target.z = (float(v) for v in target)
        return response

    def pose_msg(self, stamp: Time) -> PoseStamped:
        pose = PoseStamped()
        pose.header.stamp, pose.header.frame_id = stamp, "base"
        x, y = (float(v) for v in self.obs["state"][:2])
        z = float(self.obs["state"][2]) if self.dims == 3 else HAND_Z  # 3-D: the state's z (the peg tip)
        pose.pose.position.x, pose.pose.position.y, pose.pose.position.z = x, y, z
        pose.pose.orientation.w = 1.0
        return pose

    def publish_observation(self, stamp_ns: int | None = None) -> Time:
        self.published_at = time.monotonic()
        stamp = time_msg(self.now_ns() if stamp_ns is None else stamp_ns)
        image = self.obs["image"]
        msg = Image(height=image.shape[0], width=image.shape[1], encoding="rgb8", step=image.shape[1] * 3)
        msg.header.stamp, msg.header.frame_id = stamp, "camera"
        msg.data = image.tobytes()
        if self.wrench_pub is not None:  # before the pose: a state-observing policy pairs them by stamp
            wrench = WrenchStamped()
            wrench.header.stamp, wrench.header.frame_id = stamp, "base"
            wrench.wrench.force.z = float(self.info["f_z"])
            self.wrench_pub.publish(wrench)
        self.pose_pub.publish(self.pose_msg(stamp))
        self.image_pub.publish(msg)  # after the pose (a consumer of the image finds it sent), before what no step waits on
        joints = JointState(name=self.joint_names, position=[float(self.env.data.qpos[a]) for a in self.joint_adr])
        joints.header.stamp = stamp
        self.joint_pub.publish(joints)
        state = SimState(episode_steps=self.steps, state=self.obs["state"].tolist(),
                         goal_state=self.obs["goal_state"].tolist(), distance_names=list(self.info),
                         distances=[float(v) for v in self.info.values()])
        state.header.stamp = stamp
        self.state_pub.publish(state)  # ground truth for evaluators, which pair it with the frame by stamp
        return stamp

    def close(self) -> None:
        self.env.close()


def main(args: list[str] | None = None) -> None:
    run_node(SimNode, args)


if __name__ == "__main__":
    main()
