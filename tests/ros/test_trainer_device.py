"""trainer_node's `device` parameter: a GPU asked for where there is none stops the node at start with one line."""

import subprocess
import sys

import pytest
import torch


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("device, message", [
    ("cuda", "[fatal] trainer_node: device 'cuda': CUDA is not available"),
    ("gpu", "[fatal] trainer_node: device 'gpu' is not one of cpu, cuda, cuda:N"),
])
def test_trainer_node_refuses_a_device_it_does_not_have(device, message, ros_env, tmp_path):
    done = subprocess.run([sys.executable, "-m", "rig_trainer.trainer_node", "--ros-args", "-p", f"device:={device}",
                           "-p", f"checkpoint_dir:={tmp_path / 'ckpt'}"],
                          env=ros_env, capture_output=True, text=True, timeout=60)
    output = (done.stdout + done.stderr).strip()
    assert done.returncode == 1, output
    assert output.startswith(message) and len(output.splitlines()) == 1 and "Traceback" not in output, output
    assert not (tmp_path / "ckpt").exists()
