"""Shared fixtures: headless MuJoCo, one torch thread, the small point-image env for core tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")
sys.path.insert(0, str(Path(__file__).parent))

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture
def point_env_factory():
    from point_env import PointImageEnv

    return lambda: PointImageEnv(image_size=48)
