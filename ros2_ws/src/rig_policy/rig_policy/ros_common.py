"""Shared node plumbing: QoS profiles of the topic contract, typed parameter declaration, image
conversion (rosbags-image, as ROS 2 cv_bridge is not installable here) and the node main loop."""

from __future__ import annotations

import faulthandler
import signal
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np
import rclpy
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.context import Context
from rclpy.executors import Executor, ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import Image

from rig_policy.graph import STACK_DUMP_SIGNAL, TEARDOWN_ALARM

SENSOR_QOS = qos_profile_sensor_data  # camera images: best effort, keep last 5
RELIABLE_IMAGE_QOS = QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE)  # lock-step: no frame may drop
LATCHED_QOS = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)  # weights, goals, e-stop
COMMAND_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
STREAM_QOS = QoSProfile(depth=200, reliability=ReliabilityPolicy.RELIABLE)  # experience steps

# name: (default, description, (low, high) or None)
ParamSpec = dict[str, tuple[Any, str, tuple[float, float] | None]]


def declare_parameters(node: Node, specs: ParamSpec) -> SimpleNamespace:
    """Declare typed parameters with descriptions and ranges; return their values."""
    values = {}
    for name, (default, description, bounds) in specs.items():
        descriptor = ParameterDescriptor(description=description)
        if bounds is not None and isinstance(default, bool):
            pass
        elif bounds is not None and isinstance(default, int):
            descriptor.integer_range = [IntegerRange(from_value=int(bounds[0]), to_value=int(bounds[1]), step=1)]
        elif bounds is not None and isinstance(default, float):
            descriptor.floating_point_range = [FloatingPointRange(from_value=float(bounds[0]), to_value=float(bounds[1]))]
        values[name] = node.declare_parameter(name, default, descriptor).value
    return SimpleNamespace(**values)


def image_qos(reliable: bool) -> QoSProfile:
    return RELIABLE_IMAGE_QOS if reliable else SENSOR_QOS


def stamp_ns(stamp: Any) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


SUPPORTED_ENCODINGS = ("rgb8", "bgr8", "rgba8", "bgra8", "mono8")


def image_to_rgb(msg: Image) -> np.ndarray:
    """sensor_msgs/Image → (H, W, 3) uint8 RGB; ValueError naming what is wrong with a malformed image."""
    from rosbags.image import message_to_cvimage

    if msg.encoding not in SUPPORTED_ENCODINGS:
        raise ValueError(f"unsupported encoding {msg.encoding!r} (want one of {', '.join(SUPPORTED_ENCODINGS)})")
    channels = {"mono8": 1, "rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4}[msg.encoding]
    if msg.height == 0 or msg.width == 0 or msg.step < msg.width * channels or len(msg.data) != msg.step * msg.height:
        raise ValueError(f"{msg.width}x{msg.height} {msg.encoding} image with step {msg.step} "
                         f"has {len(msg.data)} bytes of data")
    return np.ascontiguousarray(message_to_cvimage(msg, "rgb8"))


def rgb_to_image(array: np.ndarray, stamp: Any, frame_id: str = "camera") -> Image:
    msg = Image(height=int(array.shape[0]), width=int(array.shape[1]), encoding="rgb8", is_bigendian=0,
                step=int(array.shape[1]) * 3)
    msg.header.stamp, msg.header.frame_id = stamp, frame_id
    msg.data = np.ascontiguousarray(array, np.uint8).tobytes()
    return msg


def crop_and_resize(rgb: np.ndarray, crop: tuple[int, int, int, int], size: int) -> np.ndarray:
    """Crop (x, y, w, h; w or h 0 = to the edge) then resize to size×size (area interpolation)."""
    x, y, w, h = crop
    rgb = rgb[y:y + h if h > 0 else None, x:x + w if w > 0 else None]
    if rgb.size == 0:
        raise ValueError(f"crop {crop} leaves no pixels")
    if rgb.shape[:2] != (size, size):
        rgb = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(rgb, np.uint8)


def spin_in_background(executor: Executor, context: Context) -> threading.Thread:
    """Spin `executor` in a daemon thread until `context` shuts down (for in-process watchers and probes)."""

    def spin() -> None:
        while context.ok():
            try:
                executor.spin_once(timeout_sec=0.05)
            except Exception:  # shutdown races end the loop; anything else is a real error
                if not context.ok():
                    return
                raise

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    return thread


TEARDOWN_LIMIT_S = 5.0


def arm_teardown_alarm(limit: float = TEARDOWN_LIMIT_S) -> None:
    """Call once the node has closed (commands zeroed, checkpoints written): if destroying the node and the
    context then takes longer than `limit`, print every thread's stack and end the process by TEARDOWN_ALARM.
    Both work without the GIL, which a native call stuck in DDS may hold."""
    faulthandler.dump_traceback_later(limit, exit=False)
    signal.signal(TEARDOWN_ALARM, signal.SIG_DFL)
    signal.setitimer(signal.ITIMER_REAL, limit + 0.5)


def run_node(factory: Callable[[], Node], args: list[str] | None = None) -> None:
    """rclpy.init → spin → clean shutdown on Ctrl-C / SIGINT / SIGTERM; a startup error exits 1 with its message.

    The signals only set a flag that the spin loop checks between callbacks (at least every 0.1 s), so a
    callback is never cut in half and the node is torn down by this thread alone. rclpy's own handler shuts the
    context down from a second thread while this one destroys the node: the likely cause of a node stuck in
    `destroy_node` (about 1 graph stop in 150). A teardown that still hangs ends the process (see
    arm_teardown_alarm). STACK_DUMP_SIGNAL (SIGUSR1) prints every thread's stack to stderr."""
    faulthandler.enable()  # a crash (SIGSEGV, SIGABRT, ...) prints the Python stacks before the process dies
    faulthandler.register(STACK_DUMP_SIGNAL, all_threads=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    executor = SingleThreadedExecutor()
    node = None
    try:
        node = factory()
        executor.add_node(node)
        while not stop.is_set() and rclpy.ok():
            executor.spin_once(timeout_sec=0.1)
    except ExternalShutdownException:
        pass
    except RuntimeError as err:
        print(f"[fatal] {err}", flush=True)
        raise SystemExit(1) from None
    finally:
        if node is not None:
            close = getattr(node, "close", None)
            if close is not None:
                close()
            arm_teardown_alarm()
            executor.remove_node(node)
            node.destroy_node()
        executor.shutdown()
        rclpy.try_shutdown()
