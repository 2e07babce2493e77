"""encoder_node: camera frames → VAE latents, stamped with the image time and the VAE version.

Frames are converted with rosbags-image (cv_bridge's API, no ROS 2 cv_bridge here), cropped, resized to
the VAE's input size and encoded; new VAE weights from the trainer are swapped in between frames.
Malformed images (encoding, size, data length) are rejected with a logged error and produce no latent.

CC-RIG (a CC-VAE in the weights, thesis §3.4.2): each frame is encoded with its episode's first frame s0 as the
context, z̄ = (μ(s, s0), zc), and the latent's ``context_stamp`` says which frame that was. The episode node names
s0 on /episode/context after each reset (its stamp: the first frame at or after it is s0). A frame with no known
context is its own (what s0 itself gets); a recent frame already published under another context (s0 arrived
before the message naming it) is encoded again and re-sent with the right one.
"""

from __future__ import annotations

from collections import OrderedDict

import cv2
import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from rig_core.errors import RigError
from rig_core.policy_weights import PolicyWeights, load_policy_weights
from rig_interfaces.msg import Latent, Weights
from rig_runtime.messages import crop_and_resize, image_to_rgb, rgb_to_image, stamp_ns, time_msg
from rig_runtime.node_runner import run_node
from rig_runtime.params import declare_parameters
from rig_runtime.qos import LATCHED_QOS, image_qos

RECENT_FRAMES = 8  # CC-RIG: frames kept to find s0 when /episode/context names it after it was encoded


class EncoderNode(Node):
    def __init__(self) -> None:
        super().__init__("encoder_node")
        self.p = declare_parameters(self, {
            "crop_x": (0, "left edge of the crop (pixels)", (0, 10000)),
            "crop_y": (0, "top edge of the crop (pixels)", (0, 10000)),
            "crop_width": (0, "crop width (pixels, 0 = to the right edge)", (0, 10000)),
            "crop_height": (0, "crop height (pixels, 0 = to the bottom edge)", (0, 10000)),
            "max_input_size": (4096, "reject images wider or taller than this (pixels)", (1, 16384)),
            "reliable_images": (False, "subscribe reliable (lock-step) instead of sensor-data QoS", None),
        })
        self.weights: PolicyWeights | None = None
        self.pub = self.create_publisher(Latent, "/perception/latent", 10)
        self.create_subscription(Image, "/camera/image_raw", self.on_image, image_qos(self.p.reliable_images))
        self.create_subscription(Weights, "/trainer/weights", self.on_weights, LATCHED_QOS)
        self.create_subscription(Header, "/episode/context", self.on_context, LATCHED_QOS)
        self.frames = 0
        self.waiting: Image | None = None  # latest frame received before any VAE weights
        # CC-RIG: the episode's s0 (stamp ns, frame), the stamp asked for before its frame came, recent frames
        self.s0: tuple[int, np.ndarray] | None = None
        self.s0_wanted: int | None = None
        self.recent: OrderedDict[int, tuple[np.ndarray, Header, int]] = OrderedDict()  # stamp → frame, header, context

    def on_weights(self, msg: Weights) -> None:
        try:
            weights = load_policy_weights(bytes(msg.safetensors))
        except RigError as err:
            self.get_logger().error(f"ignoring weights version {msg.version}: {err}")
            return
        self.weights = weights  # swapped between frames: callbacks never overlap
        self.get_logger().info(f"VAE weights version {weights.version}")
        if self.waiting is not None:  # the frame that came before any weights (lock-step waits on it)
            self.waiting, frame = None, self.waiting
            self.on_image(frame)

    def on_image(self, msg: Image) -> None:
        try:
            if max(msg.width, msg.height) > self.p.max_input_size:
                raise ValueError(f"{msg.width}x{msg.height} exceeds max_input_size {self.p.max_input_size}")
            rgb = image_to_rgb(msg)
        except ValueError as err:
            self.get_logger().error(f"rejected image: {err}", throttle_duration_sec=1.0)
            return
        weights = self.weights
        if weights is None:
            self.get_logger().warn("no VAE weights yet: the latest frame waits for them", throttle_duration_sec=5.0)
            self.waiting = msg
            return
        crop = (self.p.crop_x, self.p.crop_y, self.p.crop_width, self.p.crop_height)
        try:
            frame = crop_and_resize(rgb, crop, weights.config.image_size)
        except (ValueError, cv2.error) as err:
            self.get_logger().error(f"rejected image: {err}", throttle_duration_sec=1.0)
            return
        if not weights.contextual:
            self.publish(weights, frame, msg.header, None)
            return
        stamp = stamp_ns(msg.header.stamp)
        if self.s0_wanted is not None and stamp >= self.s0_wanted:
            self.s0, self.s0_wanted = (stamp, frame), None
        context = self.s0 if self.s0 is not None and stamp >= self.s0[0] else (stamp, frame)
        self.recent[stamp] = (frame, msg.header, context[0])
        while len(self.recent) > RECENT_FRAMES:
            self.recent.popitem(last=False)
        self.publish(weights, frame, msg.header, context)

    def on_context(self, msg: Header) -> None:
        """CC-RIG: the episode's s0 is the first frame stamped at or after ``msg.stamp``."""
        wanted = stamp_ns(msg.stamp)
        if self.s0 is not None and self.s0[0] == wanted:
            return
        cached = [t for t in self.recent if t >= wanted]
        if not cached:
            self.s0, self.s0_wanted = None, wanted
            return
        s0 = min(cached)
        self.s0, self.s0_wanted = (s0, self.recent[s0][0]), None
        weights = self.weights
        for t in cached:  # frames already sent under another context: again, under this one
            frame, header, used = self.recent[t]
            if used != s0 and weights is not None and weights.contextual:
                self.recent[t] = (frame, header, s0)
                self.publish(weights, frame, header, self.s0)

    def publish(self, weights: PolicyWeights, frame: np.ndarray, header: Header,
                context: tuple[int, np.ndarray] | None) -> None:
        mu, logvar = weights.encode(frame[None], None if context is None else context[1][None])
        if not np.all(np.isfinite(mu)):
            self.get_logger().error("VAE produced a non-finite latent: dropped", throttle_duration_sec=1.0)
            return
        out = Latent(vae_version=weights.version, z=mu[0].tolist(), logvar=logvar[0].tolist(),
                     image=rgb_to_image(frame, header.stamp, header.frame_id))
        out.header = header
        if context is not None:
            out.context_stamp = time_msg(context[0])
        self.pub.publish(out)
        self.frames += 1


def main(args: list[str] | None = None) -> None:
    import torch

    torch.set_num_threads(1)
    run_node(EncoderNode, args)


if __name__ == "__main__":
    main()
