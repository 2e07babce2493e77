"""encoder_node rejects malformed images with a logged error and encodes good ones; camera and
SpaceMouse nodes fail with a clear message when their device is absent."""

from __future__ import annotations

import subprocess
import time

import numpy as np
from conftest import ROOT, start_nodes, stop_all
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import Image

from rig_core.agent import RIGAgent
from rig_core.checkpoint import policy_bytes
from rig_core.config import default_config
from rig_interfaces.msg import Latent, Weights
from rig_runtime.graph import load_graph, node_command

LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)


def image(width: int, height: int, encoding: str, channels: int, data_len: int | None = None) -> Image:
    msg = Image(width=width, height=height, encoding=encoding, step=width * channels)
    n = width * height * channels if data_len is None else data_len
    msg.data = np.random.default_rng(0).integers(0, 255, n, dtype=np.uint8).tobytes()
    return msg


def test_encoder_rejects_malformed_images(probe, ros_env, tmp_path):
    node = probe.node
    weights_pub = node.create_publisher(Weights, "/trainer/weights", LATCHED)
    image_pub = node.create_publisher(Image, "/camera/image_raw", qos_profile_sensor_data)
    probe.listen("/perception/latent", Latent)
    procs = start_nodes("sim_pusher.yaml", {}, ros_env, tmp_path, only=["encoder_node"])
    agent = RIGAgent(default_config("reacher", replay_capacity=1000))
    weights_pub.publish(Weights(kind="policy", version=4, safetensors=policy_bytes(agent, 4)))
    try:
        probe.wait_for(lambda: "VAE weights version 4" in procs["encoder_node"].output(), 30, "encoder loading weights")
        bad = [image(48, 48, "16UC1", 2), image(48, 48, "rgb8", 3, data_len=100), image(0, 0, "rgb8", 3)]
        for msg in bad:
            for _ in range(3):
                image_pub.publish(msg)
                time.sleep(0.05)
        time.sleep(0.5)
        assert probe.messages("/perception/latent") == []
        log = procs["encoder_node"].output()
        assert "rejected image: unsupported encoding '16UC1'" in log
        good = image(160, 120, "bgr8", 3)  # resized to the VAE's 48x48
        good.header.stamp.sec = 123
        for _ in range(5):
            image_pub.publish(good)
            time.sleep(0.05)
        latents = probe.wait_count("/perception/latent", 1, 10)
        assert latents[0].header.stamp.sec == 123 and latents[0].vae_version == 4 and len(latents[0].z) == 4
        assert (latents[0].image.width, latents[0].image.height, latents[0].image.encoding) == (48, 48, "rgb8")
    finally:
        codes = stop_all(procs)
    assert codes["encoder_node"] == 0


def _run_node_once(graph_file: str, name: str, overrides: dict, env: dict, tmp_path) -> subprocess.CompletedProcess:
    graph = load_graph(ROOT / "launch" / graph_file, {name: overrides})
    cmd = node_command(graph.node(name), graph, tmp_path)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)


def test_devices_absent_give_clear_errors(ros_env, tmp_path):
    realsense = _run_node_once("real_pusher.yaml", "camera_node", {}, ros_env, tmp_path)
    assert realsense.returncode == 1 and "no RealSense camera found" in realsense.stdout + realsense.stderr
    video = _run_node_once("real_pusher.yaml", "camera_node", {"source": "opencv", "device": "/nonexistent.mp4"},
                           ros_env, tmp_path)
    assert video.returncode == 1 and "cannot open camera or video" in video.stdout + video.stderr
    mouse = _run_node_once("real_pusher.yaml", "spacemouse_teleop_node", {}, ros_env, tmp_path)
    assert mouse.returncode == 1 and "no SpaceMouse found" in mouse.stdout + mouse.stderr
