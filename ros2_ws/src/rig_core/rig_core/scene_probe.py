"""Measuring tools for CC-RIG (thesis §3.5.3): read a scene attribute out of an image, real or decoded, to count how
many imagined goals keep the attribute of the scene they were proposed for.

- `ColourProbe` regresses the puck's RGB colour (multi-colour pusher). A decoded goal "matches" its scene when its
  read colour is nearer to that scene's puck colour than to the puck colour of every other scene in its group.
- `CountProbe` classifies how many pucks an image shows, 0, 1 or 2 (varying-number-of-objects pusher, RIG §5). A
  decoded goal matches when the count read equals its scene's.

Both are small CNNs with global max pooling (a puck is small and anywhere on the table), trained only on simulator
frames labelled with what the simulator drew, never on a VAE's output.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from rig_core.images import to_tensor

MAX_PUCKS = 2  # the varying pusher's largest count


class _PooledCNN(nn.Module):
    """uint8 frames (N, S, S, 3) → `outputs` numbers, from features max-pooled over the whole image."""

    def __init__(self, outputs: int) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(16, 32, 3, 1, 1), nn.ReLU(), nn.Conv2d(32, 32, 1), nn.ReLU())
        self.head = nn.Linear(32, outputs)

    def raw(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images).amax((2, 3)))

    @torch.no_grad()
    def _predict(self, frames: np.ndarray, batch_size: int, width: int) -> np.ndarray:
        self.eval()
        out = [self(to_tensor(frames[i:i + batch_size])) for i in range(0, len(frames), batch_size)]
        return torch.cat(out).numpy() if out else np.zeros((0, width), np.float32)


class ColourProbe(_PooledCNN):
    """uint8 frames (N, S, S, 3) → puck RGB in [0, 1]."""

    def __init__(self) -> None:
        super().__init__(3)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.raw(images))

    def predict(self, frames: np.ndarray, batch_size: int = 512) -> np.ndarray:
        return self._predict(frames, batch_size, 3)


class CountProbe(_PooledCNN):
    """uint8 frames (N, S, S, 3) → logits over 0 … MAX_PUCKS pucks; `predict` gives the count."""

    def __init__(self) -> None:
        super().__init__(MAX_PUCKS + 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.raw(images)

    def predict(self, frames: np.ndarray, batch_size: int = 512) -> np.ndarray:
        return self._predict(frames, batch_size, MAX_PUCKS + 1).argmax(1)


def _fit(probe: _PooledCNN, frames: np.ndarray, targets: torch.Tensor,
         loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], n_batches: int, batch_size: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    optim = torch.optim.Adam(probe.parameters(), lr=1e-3)
    probe.train()
    for _ in range(n_batches):
        idx = rng.integers(0, len(frames), batch_size)
        value = loss(probe(to_tensor(frames[idx])), targets[idx])
        optim.zero_grad(set_to_none=True)
        value.backward()
        optim.step()
    probe.eval()


def fit_colour_probe(frames: np.ndarray, colours: np.ndarray, n_batches: int = 800, batch_size: int = 64,
                     seed: int = 0) -> ColourProbe:
    """Fit the probe to frames (N, S, S, 3) uint8 and their puck colours (N, 3) by squared error."""
    torch.manual_seed(seed)
    probe = ColourProbe()
    _fit(probe, frames, torch.as_tensor(np.asarray(colours, np.float32)),
         lambda read, rgb: (read - rgb).pow(2).sum(1).mean(), n_batches, batch_size, seed)
    return probe


def fit_count_probe(frames: np.ndarray, counts: np.ndarray, n_batches: int = 800, batch_size: int = 64,
                    seed: int = 0) -> CountProbe:
    """Fit the probe to frames (N, S, S, 3) uint8 and their puck counts (N,) by cross-entropy."""
    counts = np.asarray(counts)
    if counts.size and (counts.min() < 0 or counts.max() > MAX_PUCKS):
        raise ValueError(f"puck counts must be 0 … {MAX_PUCKS}, got {counts.min()} … {counts.max()}")
    torch.manual_seed(seed)
    probe = CountProbe()
    _fit(probe, frames, torch.as_tensor(counts, dtype=torch.long), nn.functional.cross_entropy, n_batches,
         batch_size, seed)
    return probe


def colour_match(read: np.ndarray, scene_colours: np.ndarray, group: int = 8) -> np.ndarray:
    """Per image: whether its read colour (N, 3) is nearest to its own scene's colour (row i of `scene_colours`)
    among the `group` scenes of its group (consecutive rows); chance is 1 / group."""
    n = len(read) - len(read) % group
    read, scenes = read[:n].reshape(-1, group, 3), scene_colours[:n].reshape(-1, group, 3)
    dist = np.linalg.norm(read[:, :, None] - scenes[:, None], axis=-1)  # (groups, image, scene)
    return (dist.argmin(-1) == np.arange(group)[None]).reshape(-1)


def count_chance(scene_counts: np.ndarray) -> float:
    """The match rate of goals whose counts ignore the scene but follow the scenes' own count frequencies: Σ p_k²."""
    p = np.bincount(np.asarray(scene_counts, int), minlength=MAX_PUCKS + 1) / max(len(scene_counts), 1)
    return float((p ** 2).sum())
