"""Binary STL I/O and on-disk cached mesh decimation (fast_simplification)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

_TRI = np.dtype([("normal", "<f4", 3), ("verts", "<f4", (3, 3)), ("attr", "<u2")])


def cache_dir() -> Path:
    """Mesh cache: ``$RIG_ROS2_CACHE`` or ``$XDG_CACHE_HOME/rig-ros2`` (default ``~/.cache/rig-ros2``), ``meshes/`` inside."""
    root = os.environ.get("RIG_ROS2_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "rig-ros2")
    return Path(root).expanduser() / "meshes"


def read_stl(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a binary STL; return welded ``(points (N,3) float64, faces (M,3) int64)``."""
    raw = Path(path).read_bytes()
    n = int(np.frombuffer(raw, "<u4", 1, 80)[0])
    if len(raw) != 84 + n * _TRI.itemsize:
        raise ValueError(f"{path}: not a binary STL (ASCII STL is not supported)")
    tris = np.frombuffer(raw, _TRI, n, 84)["verts"].reshape(-1, 3)
    points, inverse = np.unique(tris, axis=0, return_inverse=True)
    return points.astype(np.float64), inverse.reshape(-1, 3).astype(np.int64)


def write_stl(path: Path, points: np.ndarray, faces: np.ndarray) -> None:
    """Write a binary STL atomically (temp file + rename, safe for concurrent writers)."""
    tri = points[faces].astype(np.float32)
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
    rec = np.zeros(len(faces), _TRI)
    rec["normal"], rec["verts"] = normal, tri
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(b"rig-ros2 decimated mesh".ljust(80, b"\0"))
        f.write(np.uint32(len(faces)).tobytes())
        f.write(rec.tobytes())
    os.replace(tmp, path)


def decimated(src: Path, keep: float) -> Path:
    """Path of ``src`` decimated to about ``keep`` of its triangles, computed once and cached by content hash."""
    digest = hashlib.sha256(Path(src).read_bytes()).hexdigest()[:16]
    out = cache_dir() / f"{Path(src).stem}-{digest}-keep{keep:.3f}.stl"
    if not out.exists():
        import fast_simplification

        points, faces = read_stl(src)
        points, faces = fast_simplification.simplify(points, faces, target_reduction=1.0 - keep)
        write_stl(out, np.asarray(points), np.asarray(faces))
    return out
