"""The ROS 1 side's interpreter and environment for tests: .venv-ros1 (scripts/setup_ros1.sh), a master per test."""

from __future__ import annotations

import os
import socket
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROS1_PYTHON = ROOT / ".venv-ros1" / "bin" / "python"
ROSMASTER = Path("/usr/bin/rosmaster")


def missing() -> str | None:
    """Why the ROS 1 side cannot run here, or None."""
    if not ROS1_PYTHON.exists():
        return f"{ROS1_PYTHON} missing: run scripts/setup_ros1.sh (scripts/setup.sh does)"
    if not ROSMASTER.exists():
        return "rosmaster missing: run scripts/setup_ros1.sh (apt python3-rosmaster)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ros1_env(port: int, log_dir: Path) -> dict[str, str]:
    """Environment of a ROS 1 process on the master at ``port`` (no ROS 2 variables, no main-venv paths)."""
    drop = ("ROS_", "AMENT_", "COLCON_", "RMW_", "PYTHON", "VIRTUAL_ENV", "LD_LIBRARY_PATH", "CMAKE_PREFIX_PATH")
    keep = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    keep["PATH"] = ":".join(p for p in keep.get("PATH", "").split(":") if not p.rstrip("/").endswith(".venv/bin"))
    return {**keep, "ROS_MASTER_URI": f"http://127.0.0.1:{port}", "ROS_IP": "127.0.0.1", "ROS_LOG_DIR": str(log_dir),
            "PYTHONUNBUFFERED": "1", "MUJOCO_GL": "egl"}
