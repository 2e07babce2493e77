"""Stamps and image conversion (rosbags-image, as ROS 2 cv_bridge is not installable here)."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from builtin_interfaces.msg import Time
from sensor_msgs.msg import Image


def stamp_ns(stamp: Any) -> int:
    """builtin_interfaces/Time → integer nanoseconds."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def time_msg(ns: int) -> Time:
    """Integer nanoseconds → builtin_interfaces/Time."""
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


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
    """(H, W, 3) uint8 RGB → sensor_msgs/Image (rgb8)."""
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
