"""camera_node: publishes sensor_msgs/Image (rgb8, sensor-data QoS) on /camera/image_raw from a RealSense
(pyrealsense2), an OpenCV device index, or a video file (looped). A missing device is a clear error."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import Image

from rig_runtime.messages import rgb_to_image
from rig_runtime.node_runner import run_node
from rig_runtime.params import declare_parameters
from rig_runtime.qos import SENSOR_QOS


class RealSenseSource:
    """Colour stream of the first RealSense; checks query_devices() first (start() blocks ~15 s without one)."""

    def __init__(self, width: int, height: int, fps: int) -> None:
        try:
            import pyrealsense2 as rs
        except ImportError as err:
            raise RuntimeError(f"camera_node: pyrealsense2 is not importable ({err}); "
                               "pip install pyrealsense2 and apt install libusb-1.0-0") from None
        if len(rs.context().query_devices()) == 0:
            raise RuntimeError("camera_node: no RealSense camera found (check the USB 3 cable and udev rules)")
        self.pipeline = rs.pipeline()
        config = rs.config()
        config.enable_stream(rs.stream.color, width, height, rs.format.rgb8, fps)
        self.pipeline.start(config)

    def read(self) -> np.ndarray | None:
        frames = self.pipeline.poll_for_frames()
        color = frames.get_color_frame() if frames else None
        return np.asanyarray(color.get_data()).copy() if color else None

    def close(self) -> None:
        self.pipeline.stop()


class OpenCVSource:
    """A V4L2 device index ("0") or a video file, looped at its end."""

    def __init__(self, device: str, width: int, height: int) -> None:
        self.device = int(device) if device.isdigit() else device
        self.cap = cv2.VideoCapture(self.device)
        if not self.cap.isOpened():
            raise RuntimeError(f"camera_node: cannot open camera or video {device!r} "
                               "(no such device, file, or no permission)")
        if isinstance(self.device, int) and width and height:
            self.cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            self.cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)

    def read(self) -> np.ndarray | None:
        ok, bgr = self.cap.read()
        if not ok and not isinstance(self.device, int):  # end of the video file: loop
            self.cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, bgr = self.cap.read()
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if ok else None

    def close(self) -> None:
        self.cap.release()


class CameraNode(Node):
    def __init__(self) -> None:
        super().__init__("camera_node")
        self.p = declare_parameters(self, {
            "source": ("opencv", "realsense or opencv", None),
            "device": ("0", "opencv: device index or video file path", None),
            "width": (640, "requested frame width (pixels)", (0, 8192)),
            "height": (480, "requested frame height (pixels)", (0, 8192)),
            "fps": (30.0, "publish rate (Hz)", (0.1, 240.0)),
            "frame_id": ("camera", "frame_id of the images", None),
        })
        self.source: Any
        if self.p.source == "realsense":
            self.source = RealSenseSource(self.p.width, self.p.height, int(self.p.fps))
        elif self.p.source == "opencv":
            self.source = OpenCVSource(self.p.device, self.p.width, self.p.height)
        else:
            raise RuntimeError(f"camera_node: source must be 'realsense' or 'opencv', got {self.p.source!r}")
        self.pub = self.create_publisher(Image, "/camera/image_raw", SENSOR_QOS)
        self.create_timer(1.0 / self.p.fps, self.tick)
        self.get_logger().info(f"publishing {self.p.source} {self.p.device} at {self.p.fps:g} Hz")

    def tick(self) -> None:
        rgb = self.source.read()
        if rgb is None:
            self.get_logger().warn("no frame from the camera", throttle_duration_sec=2.0)
            return
        self.pub.publish(rgb_to_image(rgb, self.get_clock().now().to_msg(), self.p.frame_id))

    def close(self) -> None:
        self.source.close()


def main(args: list[str] | None = None) -> None:
    run_node(CameraNode, args)


if __name__ == "__main__":
    main()
