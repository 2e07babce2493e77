"""Generate Python classes for the intera_core_msgs-compatible definitions (ros1_ws/src/intera_core_msgs) with
Debian's genpy, no catkin:  python -m sawyer_driver.ros1.genmsgs OUT_DIR  (OUT_DIR/intera_core_msgs/...)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DEFINITIONS = Path(__file__).resolve().parents[3] / "intera_core_msgs"
GENPY = Path("/usr/lib/genpy")
SHARE = Path("/usr/share")
DEPENDENCIES = ("std_msgs", "geometry_msgs", "sensor_msgs")
PACKAGE = "intera_core_msgs"


def generate(out_dir: Path, definitions: Path = DEFINITIONS, python: str = sys.executable) -> Path:
    """Write ``out_dir/intera_core_msgs`` (msg and srv modules); returns that package directory."""
    if not (GENPY / "genmsg_py.py").exists():
        raise FileNotFoundError("genpy not found at /usr/lib/genpy: install python3-genpy (scripts/setup_ros1.sh)")
    pkg = Path(out_dir) / PACKAGE
    includes = [f"-I{PACKAGE}:{definitions / 'msg'}"] + [f"-I{d}:{SHARE / d / 'msg'}" for d in DEPENDENCIES]
    for kind, tool in (("msg", "genmsg_py.py"), ("srv", "gensrv_py.py")):
        files = sorted(str(f) for f in (definitions / kind).glob(f"*.{kind}"))
        args = [python, str(GENPY / tool), "-p", PACKAGE, "-o", str(pkg / kind)]
        subprocess.run([*args, *includes, *files], check=True, capture_output=True, text=True)
        subprocess.run([*args, "--initpy"], check=True, capture_output=True, text=True)
    (pkg / "__init__.py").write_text("")
    return pkg


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m sawyer_driver.ros1.genmsgs OUT_DIR")
    print(generate(Path(sys.argv[1])))
