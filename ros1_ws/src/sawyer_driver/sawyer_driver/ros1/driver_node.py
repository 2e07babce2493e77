"""The Sawyer driver (rospy, on the robot's ROS 1 master): ``/robot/ee_velocity_cmd`` → joint velocity commands
at 100 Hz on intera's topics, through the plain-Python core (controller, limits, supervisor, reset).

In:  /robot/ee_velocity_cmd (geometry_msgs/TwistStamped, m/s and rad/s, robot base frame), /robot/joint_states,
     /robot/state (intera_core_msgs/RobotAssemblyState), /robot_description and robot_config params.
Out: /robot/limb/right/joint_command (intera_core_msgs/JointCommand), its command timeout, /robot/ee_pose
     (geometry_msgs/PoseStamped), /robot/wrench (geometry_msgs/WrenchStamped: the endpoint wrench intera reports on
     /robot/limb/right/endpoint_state, for a state-observing policy's f_z; ~force_z_sign flips its z force, set it so
     that pressing the tool down on the table reads positive, as the sim's f_z does),
     /robot/driver_status (std_msgs/String "<level>: <reason>", latched).
Srv: /robot/reset (std_srvs/Trigger): to the start pose in position mode, then back to velocity mode.

    python -m sawyer_driver.ros1.driver_node [_tip_link:=right_hand] [_enable:=true] [_velocity_scale:=0.5] ...
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import time

import numpy as np

from sawyer_driver import SAWYER_JOINT_NAMES, START_JOINTS, ArmController, ControllerConfig, Kinematics, KinematicsError
from sawyer_driver.kinematics import quaternion_xyzw
from sawyer_driver.limits import Workspace
from sawyer_driver.reset import ResetTrajectory, reset_goal
from sawyer_driver.ros1.common import advance_deadline, fail, param, sleep_until, wait_for_master
from sawyer_driver.supervisor import Action, RobotState, Supervisor

NODE = "sawyer_driver"
LIMB = "/robot/limb/right"
# The driver's side of the ROS 2 graph (crosses ros1_bridge: launch/arm_bridge.yaml). /robot/joint_states comes
# from the robot itself. name: (type, "in" = subscribed | "out" = published | "service").
GRAPH_INTERFACE = {
    "/robot/ee_velocity_cmd": ("geometry_msgs/TwistStamped", "in"),
    "/robot/ee_pose": ("geometry_msgs/PoseStamped", "out"),
    "/robot/wrench": ("geometry_msgs/WrenchStamped", "out"),
    "/robot/driver_status": ("std_msgs/String", "out"),
    "/robot/reset": ("std_srvs/Trigger", "service"),
}


class Reset:
    """One reset request, filled in by the control loop."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.success = False
        self.message = ""
        self.trajectory: ResetTrajectory | None = None
        self.started = 0.0


class Driver:
    def __init__(self, kin: Kinematics, cfg: ControllerConfig, rate: float, command_timeout: float,
                 robot_command_timeout: float, state_timeout: float, start_joints: np.ndarray, reset_scale: float,
                 force_z_sign: float = 1.0) -> None:
        import rospy
        from geometry_msgs.msg import PoseStamped, TwistStamped, WrenchStamped
        from sensor_msgs.msg import JointState
        from std_msgs.msg import Float64, String
        from std_srvs.srv import Trigger

        from sawyer_driver.ros1.intera import EndpointState, JointCommand, RobotAssemblyState

        self.rospy, self.JointCommand, self.PoseStamped, self.String = rospy, JointCommand, PoseStamped, String
        self.WrenchStamped, self.force_z_sign = WrenchStamped, float(force_z_sign)
        self.kin, self.ctl = kin, ArmController(kin, cfg)
        self.period = 1.0 / rate
        self.sup = Supervisor(command_timeout, state_timeout, tick=self.period)
        self.start_joints = reset_goal(start_joints, kin.lower, kin.upper, cfg.position_inset + 0.01)
        self.reset_vmax = kin.velocity_limit * reset_scale
        self.reset_amax = np.full(kin.n, cfg.joint_acceleration / 2)
        self._lock = threading.Lock()
        self._q = self._dq = None
        self._index: np.ndarray | None = None
        self._twist = np.zeros(6)
        self._reset: Reset | None = None
        self._status = ""
        self._was_blocked = True
        self.fatal: str | None = None
        self.stopping = False
        self._outbox: list | None = None  # while a tick is computed ahead: (publisher, message) to send at its deadline

        self.cmd_pub = rospy.Publisher(f"{LIMB}/joint_command", JointCommand, queue_size=1, tcp_nodelay=True)
        self.timeout_pub = rospy.Publisher(f"{LIMB}/joint_command_timeout", Float64, queue_size=1, latch=True)
        self.pose_pub = rospy.Publisher("/robot/ee_pose", PoseStamped, queue_size=1)
        self.wrench_pub = rospy.Publisher("/robot/wrench", WrenchStamped, queue_size=1)
        self.status_pub = rospy.Publisher("/robot/driver_status", String, queue_size=1, latch=True)
        self.enable_pub = None
        # The robot's own timeout is shorter than the deadman: if this process stalls, the arm holds by itself.
        self.timeout_pub.publish(Float64(robot_command_timeout))
        rospy.Subscriber("/robot/joint_states", JointState, self.on_joint_states, queue_size=1, tcp_nodelay=True)
        rospy.Subscriber("/robot/state", RobotAssemblyState, self.on_robot_state, queue_size=1)
        rospy.Subscriber("/robot/ee_velocity_cmd", TwistStamped, self.on_command, queue_size=1, tcp_nodelay=True)
        rospy.Subscriber(f"{LIMB}/endpoint_state", EndpointState, self.on_endpoint_state, queue_size=1, tcp_nodelay=True)
        rospy.Service("/robot/reset", Trigger, self.on_reset)

    # ----- callbacks (rospy threads) -----
    def on_joint_states(self, msg) -> None:
        now = time.monotonic()
        if self._index is None:
            missing = [n for n in self.kin.joint_names if n not in msg.name]
            if missing:
                self.fatal = f"/robot/joint_states has no joints {missing} (it has {list(msg.name)}); check ~joint_names"
                return
            self._index = np.array([list(msg.name).index(n) for n in self.kin.joint_names])
        if len(msg.position) <= self._index.max():
            return
        q = np.asarray(msg.position, dtype=float)[self._index]
        dq = np.asarray(msg.velocity, dtype=float)[self._index] if len(msg.velocity) == len(msg.position) else np.zeros_like(q)
        with self._lock:
            self._q, self._dq = q, dq
            self.sup.on_joint_state(now)

    def on_endpoint_state(self, msg) -> None:
        """The robot's endpoint wrench, stamped as intera stamped it, on the graph's /robot/wrench."""
        out = self.WrenchStamped()
        out.header.stamp, out.header.frame_id = msg.header.stamp, "base"
        out.wrench = msg.wrench
        out.wrench.force.z = self.force_z_sign * msg.wrench.force.z
        self.wrench_pub.publish(out)

    def on_robot_state(self, msg) -> None:
        state = RobotState(enabled=msg.enabled, stopped=msg.stopped, error=msg.error, estop_button=msg.estop_button,
                           estop_source=msg.estop_source)
        with self._lock:
            self.sup.on_robot_state(state, time.monotonic())

    def on_command(self, msg) -> None:
        t, w = msg.twist.linear, msg.twist.angular
        with self._lock:
            self._twist = np.array([t.x, t.y, t.z, w.x, w.y, w.z], dtype=float)  # NaN/inf: the controller zeroes it
            self.sup.on_command(time.monotonic())

    def on_reset(self, _req):
        from std_srvs.srv import TriggerResponse

        request = Reset()
        with self._lock:
            blocked = self.sup.blocked(time.monotonic())
            if blocked:
                return TriggerResponse(success=False, message=f"reset refused: {blocked}")
            if self._reset is not None:
                return TriggerResponse(success=False, message="reset refused: a reset is already running")
            self._reset = request
        if not request.done.wait(60.0):
            return TriggerResponse(success=False, message="reset timed out")
        return TriggerResponse(success=request.success, message=request.message)

    # ----- the control loop -----
    def enable(self, timeout: float) -> None:
        """Ask the robot to enable (RobotEnable's topic) and wait for it; log and go on if it does not."""
        from std_msgs.msg import Bool

        pub = self.rospy.Publisher("/robot/set_super_enable", Bool, queue_size=1, latch=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stopping:
            with self._lock:
                robot = self.sup.robot
            if robot is not None and robot.enabled and not robot.stopped:
                self.rospy.loginfo(f"{NODE}: robot enabled")
                return
            if robot is not None:
                pub.publish(Bool(True))
            time.sleep(0.1)
        self.rospy.logwarn(f"{NODE}: robot did not enable within {timeout:.0f} s; waiting for it to be enabled")

    def run(self, realtime: bool = True, lead: float = 0.002) -> None:
        """The 100 Hz loop on absolute monotonic deadlines, in this (main) thread; under SCHED_FIFO when
        ``realtime`` and permitted (root or CAP_SYS_NICE), so other work on the machine cannot delay a tick.

        Each tick is computed ``lead`` seconds (in [0, period / 2], as read_config checks) before its deadline,
        on the newest joint state, and its messages are held until the deadline; then the joint command is
        stamped and sent first: the controller's variable step time (p99 ~0.6 ms) no longer moves its send time."""
        if realtime:
            try:
                os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(20))  # this thread only
                self.rospy.loginfo(f"{NODE}: control loop under SCHED_FIFO")
            except (PermissionError, OSError):
                self.rospy.logwarn(f"{NODE}: no real-time priority (needs root or CAP_SYS_NICE); ticks may be late under load")
        # rospy's receive threads share the GIL with this loop: hand it over within 0.2 ms (default 5 ms), and run
        # Python's cyclic GC here, right after a tick, instead of wherever an allocation triggers it.
        sys.setswitchinterval(0.0002)
        gc.freeze()
        gc.disable()
        next_tick, ticks = time.monotonic(), 0
        while not self.stopping and not self.rospy.is_shutdown():
            if self.fatal:
                fail(NODE, self.fatal, 4)
            self._outbox = []
            self.tick(time.monotonic())
            outbox, self._outbox = self._outbox, None
            sleep_until(next_tick)
            self.flush(outbox)
            ticks += 1
            gc.collect(2 if ticks % 6000 == 0 else 0)
            next_tick = advance_deadline(next_tick, self.period)
            sleep_until(next_tick - lead)
        with self._lock:
            moving = self.sup.decide(time.monotonic()).action is Action.VELOCITY
        if moving:
            self.send_velocity(np.zeros(self.kin.n))

    def tick(self, now: float) -> None:
        with self._lock:
            decision = self.sup.decide(now)
            q, dq, twist, reset = self._q, self._dq, self._twist.copy(), self._reset
        if reset is not None:
            self.step_reset(reset, decision, q, now)
            return
        self.set_status(decision.status)
        if q is not None and not decision.status.startswith("error"):
            self.publish_pose(q)
        if decision.action is Action.VELOCITY:
            if self._was_blocked:
                self.ctl.reset(q)  # start from rest holding the current orientation
            self._was_blocked = False
            self.send_velocity(self.ctl.step(q, dq, twist, self.period))
        else:
            if decision.action is Action.STOP:
                self.send_velocity(np.zeros(self.kin.n))
            self.ctl.stop()
            if not decision.status.startswith("idle"):
                self._was_blocked = True

    def step_reset(self, reset: Reset, decision, q: np.ndarray | None, now: float) -> None:
        with self._lock:
            blocked = self.sup.blocked(now)
        if blocked or q is None:
            self.set_status(blocked or decision.status)
            self.finish_reset(reset, False, f"reset aborted: {blocked or decision.status}", now)
            return
        if reset.trajectory is None:
            reset.trajectory = ResetTrajectory(q, self.start_joints, self.reset_vmax, self.reset_amax)
            reset.started = now
            self.set_status("resetting: moving to the start pose in position mode")
        t = now - reset.started
        target, _ = reset.trajectory.sample(t)
        self.send_position(target)
        self.publish_pose(q)
        err = float(np.max(np.abs(q - self.start_joints)))
        if t >= reset.trajectory.duration and (err < 2e-3 or t > reset.trajectory.duration + 1.0):
            tip_err = float(np.linalg.norm(self.kin.fk(q)[0] - self.kin.fk(self.start_joints)[0]))
            self.ctl.reset(q, orientation=self.kin.fk(self.start_joints)[1])
            self._was_blocked = False
            ok = tip_err < 0.01
            outcome = "done" if ok else "ended off target"
            self.finish_reset(reset, ok, f"reset {outcome}: tip {tip_err * 1000:.1f} mm from the start pose", now)

    def finish_reset(self, reset: Reset, success: bool, message: str, now: float) -> None:
        with self._lock:
            self.sup.hold(now)  # back to velocity mode on the next fresh command
            self._reset = None
        self.rospy.loginfo(f"{NODE}: {message}")
        reset.success, reset.message = success, message
        reset.done.set()

    # ----- messages out -----
    def set_status(self, status: str) -> None:
        if status != self._status:
            self._status = status
            log = self.rospy.loginfo if status.split(":")[0] in ("ok", "idle", "resetting", "waiting") else self.rospy.logwarn
            log(f"{NODE}: {status}")
            self.status_pub.publish(self.String(status))

    def _command(self, mode: int):
        msg = self.JointCommand()
        msg.mode = mode
        msg.names = list(self.kin.joint_names)
        return msg

    def _send_command(self, msg) -> None:
        """Now, or at the tick's deadline when the tick is computed ahead (stamped as it is sent)."""
        if self._outbox is not None:
            self._outbox.insert(0, (self.cmd_pub, msg))
        else:
            self.flush([(self.cmd_pub, msg)])

    def flush(self, outbox: list) -> None:
        for pub, msg in outbox:
            if pub is self.cmd_pub:
                msg.header.stamp = self.rospy.Time.now()
            pub.publish(msg)

    def send_velocity(self, dq: np.ndarray) -> None:
        msg = self._command(self.JointCommand.VELOCITY_MODE)
        msg.velocity = [float(v) for v in dq]
        self._send_command(msg)

    def send_position(self, q: np.ndarray) -> None:
        msg = self._command(self.JointCommand.POSITION_MODE)
        msg.position = [float(v) for v in q]
        self._send_command(msg)

    def publish_pose(self, q: np.ndarray) -> None:
        p, rot = self.kin.fk(q)
        msg = self.PoseStamped()
        msg.header.stamp = self.rospy.Time.now()
        msg.header.frame_id = "base"
        msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = (float(v) for v in p)
        o = msg.pose.orientation
        o.x, o.y, o.z, o.w = (float(v) for v in quaternion_xyzw(rot))
        if self._outbox is not None:
            self._outbox.append((self.pose_pub, msg))  # after the tick's command
        else:
            self.pose_pub.publish(msg)


def read_config() -> tuple[ControllerConfig, dict, float]:
    """Controller config, node options and the loop's compute lead (s) from ~params (bad values: one line, exit)."""
    defaults = ControllerConfig()
    try:
        box = Workspace(low=tuple(param("~workspace_low", list(defaults.workspace.low))),
                        high=tuple(param("~workspace_high", list(defaults.workspace.high))))
        cfg = ControllerConfig(
            velocity_scale=float(param("~velocity_scale", defaults.velocity_scale)),
            joint_acceleration=float(param("~joint_acceleration", defaults.joint_acceleration)),
            max_speed=float(param("~max_speed", defaults.max_speed)),
            max_angular_speed=float(param("~max_angular_speed", defaults.max_angular_speed)),
            max_acceleration=float(param("~max_acceleration", defaults.max_acceleration)),
            workspace=box,
            posture=tuple(param("~posture", list(defaults.posture))),
        )
        if not 0.0 < cfg.velocity_scale <= 1.0:
            raise ValueError(f"~velocity_scale must be in (0, 1], got {cfg.velocity_scale}")
    except (TypeError, ValueError) as exc:
        fail(NODE, f"bad parameter: {exc}")
    opts = {
        "rate": float(param("~rate", 100.0)),
        "command_timeout": float(param("~command_timeout", 0.2)),
        "robot_command_timeout": float(param("~robot_command_timeout", 0.1)),
        "state_timeout": float(param("~state_timeout", 0.2)),
        "start_joints": np.asarray(param("~start_joints", list(START_JOINTS)), dtype=float),
        "reset_scale": float(param("~reset_velocity_scale", 0.3)),
        "force_z_sign": float(param("~force_z_sign", 1.0)),
    }
    lead = float(param("~compute_lead", 0.002))
    if not 0.0 <= lead <= 0.5 / opts["rate"]:
        fail(NODE, f"bad parameter: ~compute_lead must be in [0, half the period], got {lead}")
    if opts["force_z_sign"] not in (1.0, -1.0):
        fail(NODE, f"bad parameter: ~force_z_sign must be 1 or -1, got {opts['force_z_sign']}")
    return cfg, opts, lead


def main() -> None:
    import rospy

    wait_for_master(NODE, float(os.environ.get("SAWYER_DRIVER_MASTER_TIMEOUT", "5")))
    rospy.init_node(NODE, disable_signals=True)
    driver: Driver | None = None

    def stop(_sig, _frame) -> None:
        if driver is not None:
            driver.stopping = True
        else:
            rospy.signal_shutdown("signal")
            raise SystemExit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    wait = float(param("~robot_description_timeout", 10.0))
    deadline = time.monotonic() + wait
    while not rospy.has_param("/robot_description"):
        if time.monotonic() > deadline:
            fail(NODE, f"no /robot_description on the master after {wait:.0f} s (is the robot's controller up?)", 3)
        time.sleep(0.1)
    joints = param("~joint_names", param("/robot_config/right_config/joint_names", list(SAWYER_JOINT_NAMES)))
    try:
        kin = Kinematics(rospy.get_param("/robot_description"), joint_names=joints, tip_link=param("~tip_link", "right_hand"))
    except KinematicsError as exc:
        fail(NODE, str(exc), 3)
    cfg, opts, lead = read_config()
    if len(opts["start_joints"]) != kin.n or len(cfg.posture) != kin.n:
        fail(NODE, f"~start_joints and ~posture need {kin.n} values")
    driver = Driver(kin, cfg, **opts)
    rospy.loginfo(f"{NODE}: {kin.n} joints, tip {kin.tip_link}, box {cfg.workspace.low}..{cfg.workspace.high}, "
                  f"velocity scale {cfg.velocity_scale}, {opts['rate']:.0f} Hz")
    if param("~enable", False):
        driver.enable(float(param("~enable_timeout", 5.0)))
    driver.run(realtime=bool(param("~realtime", True)), lead=lead)
    rospy.signal_shutdown("driver stopped")


if __name__ == "__main__":
    main()
