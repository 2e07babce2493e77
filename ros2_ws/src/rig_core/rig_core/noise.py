"""Ornstein-Uhlenbeck exploration noise (RIG Table 1: θ = 0.15, σ = 0.3)."""

from __future__ import annotations

import numpy as np


class OUNoise:
    """x ← x + θ(μ − x) + σ·N(0, 1), reset to μ at the start of each episode."""

    def __init__(self, dim: int, theta: float, sigma: float, rng: np.random.Generator, mu: float = 0.0) -> None:
        self.dim, self.theta, self.sigma, self.mu, self.rng = dim, theta, sigma, mu, rng
        self.state = np.full(dim, mu, np.float64)

    def reset(self) -> None:
        self.state[:] = self.mu

    def sample(self) -> np.ndarray:
        self.state += self.theta * (self.mu - self.state) + self.sigma * self.rng.standard_normal(self.dim)
        return self.state.astype(np.float32)
