"""Image checks and conversions between uint8 HWC frames and float NCHW tensors."""

from __future__ import annotations

import numpy as np
import torch

from rig_core.errors import DataError


def check_frames(frames: np.ndarray, image_size: int) -> np.ndarray:
    """Return `frames` as (N, S, S, 3) uint8, or raise DataError saying what is wrong."""
    frames = np.asarray(frames)
    if frames.ndim == 3:
        frames = frames[None]
    if frames.dtype != np.uint8:
        raise DataError(f"images must be uint8, got {frames.dtype}")
    if frames.ndim != 4 or frames.shape[1:] != (image_size, image_size, 3):
        raise DataError(f"images must have shape (N, {image_size}, {image_size}, 3), got {frames.shape}")
    return frames


def to_tensor(frames: np.ndarray | torch.Tensor, device: torch.device | None = None) -> torch.Tensor:
    """uint8 (N, H, W, 3) → float32 (N, 3, H, W) in [0, 1] on `device` (default: where `frames` are).

    The frames travel as uint8 (a quarter of the bytes) and become float on the device."""
    tensor = torch.as_tensor(frames)
    if device is not None:
        tensor = tensor.to(device)
    return tensor.permute(0, 3, 1, 2).float().div_(255.0)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """float (N, 3, H, W) in [0, 1] → uint8 (N, H, W, 3)."""
    array = images.detach().clamp(0, 1).mul(255).round().to(torch.uint8)
    return array.permute(0, 2, 3, 1).contiguous().cpu().numpy()
