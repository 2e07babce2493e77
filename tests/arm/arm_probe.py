"""ROS 1 test probe (runs in .venv-ros1): a rospy node driven by JSON lines on stdin, one JSON reply per line.

Requests: {"op": "record"} starts recording every stream; {"op": "collect"} returns and clears them;
{"op": "twists", "segments": [[seconds, [vx, vy, vz, wx, wy, wz]], ...]} publishes each twist at 100 Hz;
{"op": "enable", "on": true}; {"op": "button", "pressed": true}; {"op": "super_reset"};
{"op": "reset"} calls /robot/reset; {"op": "status", "prefix": "ok", "timeout": 5} waits for a driver status;
{"op": "fk" | "ik", ...} calls the twin's kinematics services; {"op": "set_param", "name": ..., "value": ...};
{"op": "quit"}.
"""

from __future__ import annotations

import json
import sys
import threading
import time

import rospy
from geometry_msgs.msg import PoseStamped, TwistStamped, WrenchStamped
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool, Empty, String
from std_srvs.srv import Trigger

from sawyer_driver.ros1.intera import EndpointState, JointCommand, RobotAssemblyState, SolvePositionFK, SolvePositionIK


class Probe:
    def __init__(self) -> None:
        rospy.init_node("arm_probe", disable_signals=True)
        self.lock = threading.Lock()
        self.recording = False
        self.streams: dict[str, list] = {}
        self.status = ""
        self.robot_state: dict | None = None
        self.clear()
        self.twist_pub = rospy.Publisher("/robot/ee_velocity_cmd", TwistStamped, queue_size=1, tcp_nodelay=True)
        self.enable_pub = rospy.Publisher("/robot/set_super_enable", Bool, queue_size=1, latch=True)
        self.button_pub = rospy.Publisher("/twin/estop_button", Bool, queue_size=1, latch=True)
        self.super_reset_pub = rospy.Publisher("/robot/set_super_reset", Empty, queue_size=1)
        rospy.Subscriber("/robot/joint_states", JointState, self.on_js, queue_size=50, tcp_nodelay=True)
        rospy.Subscriber("/robot/limb/right/endpoint_state", EndpointState, self.on_ep, queue_size=50, tcp_nodelay=True)
        rospy.Subscriber("/robot/limb/right/joint_command", JointCommand, self.on_cmd, queue_size=50, tcp_nodelay=True)
        rospy.Subscriber("/robot/driver_status", String, self.on_status, queue_size=50)
        rospy.Subscriber("/robot/wrench", WrenchStamped, self.on_wrench, queue_size=50, tcp_nodelay=True)
        rospy.Subscriber("/robot/state", RobotAssemblyState, self.on_state, queue_size=5)

    def clear(self) -> None:
        self.streams = {"js": [], "ep": [], "cmd": [], "status": [], "twist": [], "wrench": []}

    def _add(self, key: str, row) -> None:
        with self.lock:
            if self.recording:
                self.streams[key].append(row)

    # Rows carry the sender's header stamp (wall clock: no sim time here), so a starved probe does not skew them.
    def on_js(self, m) -> None:
        self._add("js", [m.header.stamp.to_sec(), list(m.name), list(m.position), list(m.velocity)])

    def on_ep(self, m) -> None:
        p, o, v = m.pose.position, m.pose.orientation, m.twist.linear
        self._add("ep", [m.header.stamp.to_sec(), [p.x, p.y, p.z], [o.x, o.y, o.z, o.w], [v.x, v.y, v.z]])

    def on_wrench(self, m) -> None:
        self._add("wrench", [m.header.stamp.to_sec(), m.header.frame_id, [m.wrench.force.x, m.wrench.force.y, m.wrench.force.z]])

    def on_cmd(self, m) -> None:
        self._add("cmd", [m.header.stamp.to_sec(), m.mode, list(m.names), list(m.position), list(m.velocity)])

    def on_status(self, m) -> None:
        self.status = m.data
        self._add("status", [time.time(), m.data])

    def on_state(self, m) -> None:
        self.robot_state = {"enabled": m.enabled, "stopped": m.stopped, "estop_button": m.estop_button}

    def twists(self, segments) -> None:
        msg = TwistStamped()
        for seconds, (vx, vy, vz, wx, wy, wz) in segments:
            end = time.monotonic() + seconds
            next_tick = time.monotonic()
            while time.monotonic() < end:
                msg.header.stamp = rospy.Time.now()
                t, a = msg.twist.linear, msg.twist.angular
                t.x, t.y, t.z, a.x, a.y, a.z = vx, vy, vz, wx, wy, wz
                self.twist_pub.publish(msg)
                self._add("twist", [msg.header.stamp.to_sec(), [vx, vy, vz, wx, wy, wz]])
                next_tick += 0.01
                time.sleep(max(0.0, next_tick - time.monotonic()))

    def wait_status(self, prefix: str, timeout: float) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end and not self.status.startswith(prefix):
            time.sleep(0.01)
        return self.status

    def handle(self, req: dict):
        op = req["op"]
        if op == "record":
            with self.lock:
                self.clear()
                self.recording = True
            return {}
        if op == "collect":
            with self.lock:
                out, self.recording = self.streams, False
                self.clear()
            return out
        if op == "twists":
            self.twists(req["segments"])
            return {}
        if op == "enable":  # like intera's RobotEnable: publish until the robot state says so
            on, end = bool(req.get("on", True)), time.monotonic() + req.get("timeout", 3.0)
            while time.monotonic() < end:
                self.enable_pub.publish(Bool(on))
                time.sleep(0.05)
                if self.robot_state and self.robot_state["enabled"] == on:
                    break
            return {"robot": self.robot_state}
        if op == "button":
            self.button_pub.publish(Bool(req["pressed"]))
            return {}
        if op == "super_reset":  # publish until the robot is no longer stopped
            end = time.monotonic() + req.get("timeout", 3.0)
            while time.monotonic() < end and (self.robot_state is None or self.robot_state["stopped"]):
                self.super_reset_pub.publish(Empty())
                time.sleep(0.05)
            return {"robot": self.robot_state}
        if op == "reset":
            rospy.wait_for_service("/robot/reset", timeout=5.0)
            t0 = time.monotonic()
            res = rospy.ServiceProxy("/robot/reset", Trigger)()
            return {"success": res.success, "message": res.message, "seconds": time.monotonic() - t0}
        if op == "status":
            return {"status": self.wait_status(req.get("prefix", ""), req.get("timeout", 5.0)), "robot": self.robot_state}
        if op in ("fk", "ik"):  # the services intera_interface's Limb waits for
            ns = "/ExternalTools/right/PositionKinematicsNode"
            if op == "fk":
                rospy.wait_for_service(f"{ns}/FKService", timeout=5.0)
                js = JointState(name=req["names"], position=req["position"])
                res = rospy.ServiceProxy(f"{ns}/FKService", SolvePositionFK)(configuration=[js], tip_names=[req["tip"]])
                p, o = res.pose_stamp[0].pose.position, res.pose_stamp[0].pose.orientation
                return {"valid": res.isValid[0], "position": [p.x, p.y, p.z], "orientation": [o.x, o.y, o.z, o.w]}
            rospy.wait_for_service(f"{ns}/IKService", timeout=5.0)
            pose = PoseStamped()
            pose.pose.position.x, pose.pose.position.y, pose.pose.position.z = req["position"]
            o = pose.pose.orientation
            o.x, o.y, o.z, o.w = req["orientation"]
            res = rospy.ServiceProxy(f"{ns}/IKService", SolvePositionIK)(pose_stamp=[pose], tip_names=[req["tip"]])
            return {"result": res.result_type[0], "names": list(res.joints[0].name), "position": list(res.joints[0].position)}
        if op == "set_param":
            rospy.set_param(req["name"], req["value"])
            return {}
        raise ValueError(f"unknown op {op!r}")


def main() -> None:
    probe = Probe()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        if req["op"] == "quit":
            break
        try:
            reply = probe.handle(req)
        except Exception as exc:  # reported to the test, which fails with it
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(reply), flush=True)
    rospy.signal_shutdown("probe done")


if __name__ == "__main__":
    main()
