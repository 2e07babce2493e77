"""MuJoCo twin of the Sawyer's controller (rospy): what the driver sees of a real robot, for CI.

Serves /robot_description (URDF written from the sim model), /robot_config params and the
/ExternalTools/right/PositionKinematicsNode FK and IK services; publishes /robot/joint_states and
/robot/limb/right/endpoint_state at 100 Hz and /robot/state; takes /robot/limb/right/joint_command (velocity
and position modes), its command timeout and speed ratio, and /robot/set_super_{enable,stop,reset}.
/twin/estop_button (std_msgs/Bool) stands for the physical red button. Starts disabled, like the robot.

    python -m sawyer_driver.ros1.twin_node [_enabled:=true] [_start_joints:=[...]]
"""

from __future__ import annotations

import signal
import threading
import time

import numpy as np

from sawyer_driver import START_JOINTS, Kinematics
from sawyer_driver.kinematics import quaternion_xyzw, rotation_from_xyzw, solve_ik
from sawyer_driver.ros1.common import advance_deadline, param, sleep_until, wait_for_master
from sawyer_twin.arm import POSITION_MODE, VELOCITY_MODE, TwinArm
from sawyer_twin.model import sawyer_urdf

NODE = "sawyer_twin"
LIMB = "/robot/limb/right"
KIN_NS = "/ExternalTools/right/PositionKinematicsNode"
# Extra joints the robot's /robot/joint_states carries besides the arm's (the driver must pick its own).
EXTRA_JOINTS = ("head_pan",)


class Twin:
    def __init__(self, start_q: np.ndarray, enabled: bool, rate: float) -> None:
        import rospy
        from sensor_msgs.msg import JointState
        from std_msgs.msg import Bool, Empty, Float64

        from sawyer_driver.ros1.intera import EndpointState, JointCommand, RobotAssemblyState, SolvePositionFK, SolvePositionIK

        self.rospy, self.JointState, self.EndpointState, self.State = rospy, JointState, EndpointState, RobotAssemblyState
        self.arm = TwinArm(start_q)
        urdf = sawyer_urdf(self.arm.model)
        rospy.set_param("/robot_description", urdf)
        rospy.set_param("/robot_config/assembly_names", ["right"])
        rospy.set_param("/robot_config/right_config/joint_names", list(self.arm.joint_names))
        self.kin = {"right_hand": Kinematics(urdf, tip_link="right_hand")}
        self.urdf = urdf
        self.period = 1.0 / rate
        self.lock = threading.Lock()
        self.enabled, self.stopped = enabled, False
        self.estop_button, self.estop_source = 0, 0
        self.commands_received = 0

        self.js_pub = rospy.Publisher("/robot/joint_states", JointState, queue_size=1, tcp_nodelay=True)
        self.ep_pub = rospy.Publisher(f"{LIMB}/endpoint_state", EndpointState, queue_size=1, tcp_nodelay=True)
        self.state_pub = rospy.Publisher("/robot/state", RobotAssemblyState, queue_size=1, latch=True)
        rospy.Subscriber(f"{LIMB}/joint_command", JointCommand, self.on_command, queue_size=1, tcp_nodelay=True)
        rospy.Subscriber(f"{LIMB}/joint_command_timeout", Float64, self.on_timeout, queue_size=1)
        rospy.Subscriber(f"{LIMB}/set_speed_ratio", Float64, self.on_speed_ratio, queue_size=1)
        rospy.Subscriber("/robot/set_super_enable", Bool, self.on_enable, queue_size=1)
        rospy.Subscriber("/robot/set_super_stop", Empty, self.on_stop, queue_size=1)
        rospy.Subscriber("/robot/set_super_reset", Empty, self.on_reset, queue_size=1)
        rospy.Subscriber("/twin/estop_button", Bool, self.on_button, queue_size=1)
        rospy.Service(f"{KIN_NS}/FKService", SolvePositionFK, self.on_fk)
        rospy.Service(f"{KIN_NS}/IKService", SolvePositionIK, self.on_ik)
        self.publish_state()

    # ----- commands and enable state -----
    def on_command(self, msg) -> None:
        with self.lock:
            if not self.enabled or self.stopped:
                return  # the robot ignores commands while disabled or stopped
            index = {n: i for i, n in enumerate(msg.names)}
            if any(n not in index for n in self.arm.joint_names):
                return  # intera needs every joint of the mode's field
            order = [index[n] for n in self.arm.joint_names]
            if msg.mode == VELOCITY_MODE and len(msg.velocity) == len(msg.names):
                self.arm.command(VELOCITY_MODE, None, np.asarray(msg.velocity, dtype=float)[order])
            elif msg.mode == POSITION_MODE and len(msg.position) == len(msg.names):
                self.arm.command(POSITION_MODE, np.asarray(msg.position, dtype=float)[order], None)
            else:
                return
            self.commands_received += 1

    def on_timeout(self, msg) -> None:
        with self.lock:
            self.arm.command_timeout = float(msg.data)

    def on_speed_ratio(self, msg) -> None:
        with self.lock:
            self.arm.speed_ratio = float(np.clip(msg.data, 0.0, 1.0))

    def on_enable(self, msg) -> None:
        with self.lock:
            if not self.stopped:
                self.enabled = bool(msg.data)
                if not self.enabled:
                    self.arm.hold()
        self.publish_state()

    def on_stop(self, _msg) -> None:  # software stop: an engine request, button state unknown
        self._estop(button=2, source=4)

    def on_button(self, msg) -> None:
        if msg.data:
            self._estop(button=1, source=1)
        else:
            with self.lock:
                if self.estop_button == 1:
                    self.estop_button = 3  # released, robot still stopped until set_super_reset
        self.publish_state()

    def _estop(self, button: int, source: int) -> None:
        with self.lock:
            self.stopped, self.enabled = True, False
            self.estop_button, self.estop_source = button, source
            self.arm.hold()
        self.publish_state()

    def on_reset(self, _msg) -> None:
        with self.lock:
            if self.estop_button != 1:  # a pressed button keeps the robot stopped
                self.stopped, self.estop_button, self.estop_source = False, 0, 0
        self.publish_state()

    def publish_state(self) -> None:
        with self.lock:
            msg = self.State(homed=True, ready=self.enabled and not self.stopped, enabled=self.enabled, stopped=self.stopped,
                             error=False, lowVoltage=False, estop_button=self.estop_button, estop_source=self.estop_source)
        self.state_pub.publish(msg)

    # ----- kinematics services (what Limb waits for) -----
    def _kin(self, tip: str) -> Kinematics | None:
        tip = tip or "right_hand"
        if tip not in self.kin:
            try:
                self.kin[tip] = Kinematics(self.urdf, tip_link=tip)
            except ValueError:
                return None
        return self.kin[tip]

    def _joints(self, state) -> np.ndarray | None:
        named = dict(zip(state.name, state.position, strict=False))
        if not all(n in named for n in self.arm.joint_names):
            return None
        return np.array([named[n] for n in self.arm.joint_names])

    def on_fk(self, req):
        from geometry_msgs.msg import PoseStamped

        from sawyer_driver.ros1.intera import SolvePositionFKResponse

        res = SolvePositionFKResponse()
        for i, state in enumerate(req.configuration):
            kin = self._kin(req.tip_names[i] if i < len(req.tip_names) else "")
            q = self._joints(state)
            pose = PoseStamped()
            pose.header.frame_id = "base"
            valid = kin is not None and q is not None
            if valid:
                p, rot = kin.fk(q)
                _fill_pose(pose.pose, p, rot)
            res.pose_stamp.append(pose)
            res.isValid.append(valid)
            res.inCollision.append(False)
        return res

    def on_ik(self, req):
        from sensor_msgs.msg import JointState

        from sawyer_driver.ros1.intera import SolvePositionIKResponse

        res = SolvePositionIKResponse()
        with self.lock:
            current = self.arm.state().q
        for i, target in enumerate(req.pose_stamp):
            kin = self._kin(req.tip_names[i] if i < len(req.tip_names) else "")
            seed = self._joints(req.seed_angles[i]) if i < len(req.seed_angles) else None
            out = JointState(name=list(self.arm.joint_names))
            result = -3
            if kin is not None:
                p = target.pose.position
                o = target.pose.orientation
                rot = rotation_from_xyzw(o.x, o.y, o.z, o.w)
                q, ok = solve_ik(kin, np.array([p.x, p.y, p.z]), rot, current if seed is None else seed)
                result = (1 if seed is not None else 2) if ok else -1
                out.position = [float(v) for v in q] if ok else []
            res.joints.append(out)
            res.result_type.append(result)
        return res

    # ----- the real-time loop -----
    def run(self, stop: threading.Event) -> None:
        next_tick = time.monotonic()
        last = next_tick
        state_every, k = max(1, round(0.1 / self.period)), 0
        while not stop.is_set():
            now = time.monotonic()
            with self.lock:
                self.arm.advance(min(now - last, 5 * self.period) if k else self.period)
                s = self.arm.state()
            last = now
            self.publish(s)
            k += 1
            if k % state_every == 0:
                self.publish_state()
            next_tick = advance_deadline(next_tick, self.period)
            sleep_until(next_tick)

    def publish(self, s) -> None:
        stamp = self.rospy.Time.now()
        js = self.JointState()
        js.header.stamp = stamp
        js.name = [*EXTRA_JOINTS, *self.arm.joint_names]
        js.position = [0.0] * len(EXTRA_JOINTS) + [float(v) for v in s.q]
        js.velocity = [0.0] * len(EXTRA_JOINTS) + [float(v) for v in s.dq]
        js.effort = [0.0] * len(js.name)
        self.js_pub.publish(js)
        ep = self.EndpointState()
        ep.header.stamp = stamp
        ep.header.frame_id = "base"
        w, x, y, z = s.hand_quat_wxyz
        ep.pose.position.x, ep.pose.position.y, ep.pose.position.z = (float(v) for v in s.hand_pos)
        ep.pose.orientation.x, ep.pose.orientation.y, ep.pose.orientation.z, ep.pose.orientation.w = (
            float(x), float(y), float(z), float(w))
        ep.twist.linear.x, ep.twist.linear.y, ep.twist.linear.z = (float(v) for v in s.hand_linvel)
        ep.twist.angular.x, ep.twist.angular.y, ep.twist.angular.z = (float(v) for v in s.hand_angvel)
        ep.valid = True
        self.ep_pub.publish(ep)


def _fill_pose(pose, p: np.ndarray, rot: np.ndarray) -> None:
    pose.position.x, pose.position.y, pose.position.z = (float(v) for v in p)
    pose.orientation.x, pose.orientation.y, pose.orientation.z, pose.orientation.w = (float(v) for v in quaternion_xyzw(rot))


def main() -> None:
    import rospy

    wait_for_master(NODE, 5.0)
    rospy.init_node(NODE, disable_signals=True)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    start = np.asarray(param("~start_joints", list(START_JOINTS)), dtype=float)
    twin = Twin(start, enabled=bool(param("~enabled", False)), rate=float(param("~rate", 100.0)))
    rospy.loginfo(f"{NODE}: MuJoCo Sawyer up ({'enabled' if twin.enabled else 'disabled'}), /robot_description served")
    twin.run(stop)
    rospy.signal_shutdown("twin stopped")


if __name__ == "__main__":
    main()
