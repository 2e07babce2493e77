"""MLP actor and a twin critic evaluated as one batched ensemble (one bmm per layer for both Qs)."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def mlp(sizes: list[int], out_activation: nn.Module | None = None) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    if out_activation is not None:
        layers.append(out_activation)
    return nn.Sequential(*layers)


class Actor(nn.Module):
    """Deterministic policy π(s, g) → action in [-1, 1]^A."""

    def __init__(self, obs_dim: int, action_dim: int, hidden: tuple[int, ...]) -> None:
        super().__init__()
        self.obs_dim, self.action_dim = obs_dim, action_dim
        self.net = mlp([obs_dim, *hidden, action_dim], nn.Tanh())

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs)


class EnsembleLinear(nn.Module):
    """`n` independent linear layers applied to `n` stacked inputs with one batched matmul."""

    def __init__(self, n: int, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n, in_features, out_features))
        self.bias = nn.Parameter(torch.empty(n, 1, out_features))
        bound = 1.0 / math.sqrt(in_features)  # same init as nn.Linear
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


class TwinCritic(nn.Module):
    """Q1, Q2 (s, g, a) as an ensemble of two MLPs; forward returns (2, B)."""

    def __init__(self, obs_dim: int, action_dim: int, hidden: tuple[int, ...], n: int = 2) -> None:
        super().__init__()
        self.n = n
        sizes = [obs_dim + action_dim, *hidden, 1]
        self.layers = nn.ModuleList(EnsembleLinear(n, sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1))

    def q1_frozen(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """Q1 alone with the critic's weights detached: gradients flow to the action only.

        The actor update needs just this (TD3 §4.2); it skips Q2 and the critic's weight gradients.
        """
        x = torch.cat([obs, action], dim=-1)
        for i, layer in enumerate(self.layers):
            x = torch.addmm(layer.bias[0].detach(), x, layer.weight[0].detach())
            if i < len(self.layers) - 1:
                x = F.relu(x)
        return x.squeeze(-1)

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        x = torch.cat([obs, action], dim=-1).unsqueeze(0).expand(self.n, -1, -1)
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = F.relu(x)
        return x.squeeze(-1)
