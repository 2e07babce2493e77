"""A measuring tool for CC-RIG (thesis §3.5.3): read the puck's colour out of an image, real or decoded, to count how
many imagined goals keep the colour of the scene they were proposed for.

A small CNN with global max pooling (the puck is small and anywhere on the table) regresses the puck's RGB colour,
trained on simulator frames labelled with the colour the simulator drew (and, to read blurry decodes, on VAE
reconstructions labelled with their source frame's colour). A decoded goal "matches" its scene when its read colour
is nearer to that scene's puck colour than to the puck colour of every other scene in its group.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from rig_core.images import to_tensor


class ColourProbe(nn.Module):
    """uint8 frames (N, S, S, 3) → puck RGB in [0, 1]."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(16, 32, 3, 1, 1), nn.ReLU(), nn.Conv2d(32, 32, 1), nn.ReLU())
        self.head = nn.Linear(32, 3)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.head(self.features(images).amax((2, 3))))

    @torch.no_grad()
    def predict(self, frames: np.ndarray, batch_size: int = 512) -> np.ndarray:
        self.eval()
        out = [self(to_tensor(frames[i:i + batch_size])) for i in range(0, len(frames), batch_size)]
        return torch.cat(out).numpy() if out else np.zeros((0, 3), np.float32)


def fit_colour_probe(frames: np.ndarray, colours: np.ndarray, n_batches: int = 800, batch_size: int = 64,
                     seed: int = 0) -> ColourProbe:
    """Fit the probe to frames (N, S, S, 3) uint8 and their puck colours (N, 3) by squared error."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    probe = ColourProbe()
    optim = torch.optim.Adam(probe.parameters(), lr=1e-3)
    targets = torch.as_tensor(np.asarray(colours, np.float32))
    for _ in range(n_batches):
        idx = rng.integers(0, len(frames), batch_size)
        loss = (probe(to_tensor(frames[idx])) - targets[idx]).pow(2).sum(1).mean()
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
    return probe.eval()


def colour_match(read: np.ndarray, scene_colours: np.ndarray, group: int = 8) -> np.ndarray:
    """Per image: whether its read colour (N, 3) is nearest to its own scene's colour (row i of `scene_colours`)
    among the `group` scenes of its group (consecutive rows); chance is 1 / group."""
    n = len(read) - len(read) % group
    read, scenes = read[:n].reshape(-1, group, 3), scene_colours[:n].reshape(-1, group, 3)
    dist = np.linalg.norm(read[:, :, None] - scenes[:, None], axis=-1)  # (groups, image, scene)
    return (dist.argmin(-1) == np.arange(group)[None]).reshape(-1)
