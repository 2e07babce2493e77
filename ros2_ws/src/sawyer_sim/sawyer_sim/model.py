"""Build the MuJoCo model: our scene template + metaworld's Sawyer (xyz_base) included by installed path."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from string import Template

import mujoco
import numpy as np

from sawyer_sim import meshes

MESH_NAMES = ("base", "eGripperBase", "head", "l0", "l1", "l2", "l3", "l4", "l5", "l6", "pedestal")
PUCK_RADIUS = 0.035  # m (large enough to be clearly visible at 48x48)
PUCK_HALF_HEIGHT = 0.015
PUCK_MASS = 0.1  # kg
PUCK_COLOURS = ("0.1 0.3 0.9 1", "0.95 0.55 0.05 1")
_TEMPLATE = Path(__file__).parent / "assets" / "scene.xml"
FINGER_LOCK = ('    <joint joint1="r_close" polycoef="0.04 0 0 0 0"/>\n'
               '    <joint joint1="l_close" polycoef="-0.03 0 0 0 0"/>')  # gripper closed


def metaworld_assets() -> Path:
    """The installed metaworld ``assets`` directory (metaworld is never imported, only its files are used)."""
    spec = importlib.util.find_spec("metaworld")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("sawyer_sim needs the metaworld 3.1.1 assets: pip install --no-deps metaworld==3.1.1")
    root = Path(next(iter(spec.submodule_search_locations))) / "assets"
    if not (root / "objects" / "assets" / "xyz_base.xml").exists():
        raise FileNotFoundError(f"metaworld Sawyer model not found under {root}")
    return root


def _puck_xml(i: int, xy: tuple[float, float]) -> str:
    r, h, m = PUCK_RADIUS, PUCK_HALF_HEIGHT, PUCK_MASS
    ixx = m * (3 * r * r + 4 * h * h) / 12.0
    izz = m * r * r / 2.0
    return (
        f'    <body name="puck{i}" pos="{xy[0]} {xy[1]} {h + 0.001}">\n'
        f'      <freejoint name="puck{i}_joint"/>\n'
        f'      <inertial pos="0 0 0" mass="{m}" diaginertia="{ixx:.6g} {ixx:.6g} {izz:.6g}"/>\n'
        f'      <geom name="puck{i}_geom" type="cylinder" size="{r} {h}" rgba="{PUCK_COLOURS[i]}" condim="3"\n'
        f'            friction="0.5 0.005 0.0001" contype="1" conaffinity="1"/>\n'
        f"    </body>"
    )


def _camera(pos: np.ndarray, target: np.ndarray) -> tuple[str, str]:
    fwd = (target - pos) / np.linalg.norm(target - pos)
    x = np.cross(fwd, [0.0, 0.0, 1.0])
    x /= np.linalg.norm(x)
    y = np.cross(x, fwd)
    return " ".join(f"{v:.5f}" for v in pos), " ".join(f"{v:.5f}" for v in (*x, *y))


def build_xml(
    puck_starts: list[tuple[float, float]],
    *,
    timestep: float,
    keep: float | None,
    offsize: int,
    cam_pos: tuple[float, float, float],
    cam_target: tuple[float, float, float],
    fovy: float,
    objects: str | None = None,
    lock_fingers: bool = True,
    actuators: str = "",
) -> str:
    """MJCF text for a scene with ``len(puck_starts)`` pucks, or with the bodies in ``objects`` (MJCF) instead;
    ``keep`` = mesh decimation ratio (None: full meshes); ``lock_fingers``: gripper held closed by equality
    constraints, else free for ``actuators`` (MJCF inside ``<actuator>``)."""
    root = metaworld_assets()
    mesh_dir = root / "objects" / "meshes" / "xyz_base"
    lines = []
    for name in MESH_NAMES:
        src = mesh_dir / f"{name}.stl"
        path = src if keep is None or keep >= 1.0 else meshes.decimated(src, keep)
        lines.append(f'    <mesh name="{name}" file="{path}"/>')
    cpos, cxy = _camera(np.asarray(cam_pos, float), np.asarray(cam_target, float))
    return Template(_TEMPLATE.read_text()).substitute(
        timestep=timestep,
        offsize=offsize,
        meshes="\n".join(lines),
        cam_pos=cpos,
        cam_xyaxes=cxy,
        fovy=fovy,
        xyz_base=root / "objects" / "assets" / "xyz_base.xml",
        objects=objects if objects is not None else "\n".join(_puck_xml(i, xy) for i, xy in enumerate(puck_starts)),
        finger_lock=FINGER_LOCK if lock_fingers else "",
        actuators=f"  <actuator>\n{actuators}\n  </actuator>" if actuators else "",
    )


def load_model(xml: str) -> mujoco.MjModel:
    """Compile the MJCF and apply the fast-rendering settings (no shadows, no multisampling, no reflections)."""
    model = mujoco.MjModel.from_xml_string(xml)
    model.vis.quality.shadowsize = 0
    model.vis.quality.offsamples = 0
    model.mat_reflectance[:] = 0.0
    return model
