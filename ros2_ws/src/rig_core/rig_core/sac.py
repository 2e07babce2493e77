"""Soft Actor-Critic (Haarnoja et al. 2018; thesis §9.4.1) with a tanh-squashed Gaussian policy, twin critics and
automatic entropy tuning (target entropy −|A|). Same interface as :class:`rig_core.td3.TD3` for residual RL."""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from rig_core.config import TD3Config
from rig_core.networks import TwinCritic, mlp
from rig_core.td3 import Batch

LOG_STD_RANGE = (-5.0, 2.0)


class GaussianActor(nn.Module):
    """π(a|s) = tanh(N(μ(s), σ(s))); ``mean_head`` is the layer zero-init sets to zero (tanh(μ) = 0)."""

    def __init__(self, obs_dim: int, action_dim: int, hidden: tuple[int, ...]) -> None:
        super().__init__()
        self.trunk = mlp([obs_dim, *hidden], nn.ReLU())
        self.mean_head = nn.Linear(hidden[-1], action_dim)
        self.log_std_head = nn.Linear(hidden[-1], action_dim)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Reparameterised sample and its log-probability (with the tanh correction)."""
        h = self.trunk(obs)
        mean, log_std = self.mean_head(h), self.log_std_head(h).clamp(*LOG_STD_RANGE)
        pre = mean + log_std.exp() * torch.randn_like(mean)
        action = torch.tanh(pre)
        normal = torch.distributions.Normal(mean, log_std.exp())
        log_prob = (normal.log_prob(pre) - torch.log1p(-action.pow(2) + 1e-6)).sum(-1)
        return action, log_prob

    def deterministic(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.mean_head(self.trunk(obs)))


class SAC:
    """SAC update: critic to r + γ (min Q′(s′, a′) − α log π(a′|s′)), actor to α log π − Q, α to the target entropy.
    Uses the lr, τ, γ, batch size and hidden sizes of a :class:`TD3Config`."""

    def __init__(self, obs_dim: int, action_dim: int, config: TD3Config, seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.config, self.device = config, torch.device("cpu")
        self.actor = GaussianActor(obs_dim, action_dim, config.hidden_sizes)
        self.critic = TwinCritic(obs_dim, action_dim, config.hidden_sizes)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.log_alpha = torch.zeros((), requires_grad=True)
        self.target_entropy = -float(action_dim)
        self.actor_optim = torch.optim.Adam(self.actor.parameters(), lr=config.actor_lr)
        self.critic_optim = torch.optim.Adam(self.critic.parameters(), lr=config.critic_lr)
        self.alpha_optim = torch.optim.Adam([self.log_alpha], lr=config.actor_lr)
        self.updates = 0

    @torch.no_grad()
    def act(self, obs: np.ndarray) -> np.ndarray:
        """The policy's mean action tanh(μ(s)) (evaluation)."""
        return self.actor.deterministic(torch.as_tensor(obs, dtype=torch.float32)).numpy()

    @torch.no_grad()
    def sample(self, obs: np.ndarray) -> np.ndarray:
        """A stochastic action (exploration comes from the policy itself)."""
        return self.actor(torch.as_tensor(obs, dtype=torch.float32)[None])[0][0].numpy()

    def update(self, batch: Batch) -> dict[str, float]:
        cfg, alpha = self.config, self.log_alpha.exp().detach()
        with torch.no_grad():
            next_action, next_log_prob = self.actor(batch.next_obs)
            target_q = self.critic_target(batch.next_obs, next_action).min(0).values - alpha * next_log_prob
            target = batch.reward + cfg.gamma * (1.0 - batch.done) * target_q
        critic_loss = (self.critic(batch.obs, batch.action) - target).pow(2).mean(1).sum()
        self.critic_optim.zero_grad(set_to_none=True)
        critic_loss.backward()
        self.critic_optim.step()
        action, log_prob = self.actor(batch.obs)
        actor_loss = (alpha * log_prob - self.critic.q1_frozen(batch.obs, action)).mean()
        self.actor_optim.zero_grad(set_to_none=True)
        actor_loss.backward()
        self.actor_optim.step()
        alpha_loss = -(self.log_alpha * (log_prob.detach() + self.target_entropy)).mean()
        self.alpha_optim.zero_grad(set_to_none=True)
        alpha_loss.backward()
        self.alpha_optim.step()
        with torch.no_grad():
            torch._foreach_lerp_(list(self.critic_target.parameters()), list(self.critic.parameters()), cfg.tau)
        self.updates += 1
        return {"sac/critic_loss": critic_loss.item(), "sac/actor_loss": actor_loss.item(), "sac/alpha": alpha.item()}

    def modules(self) -> dict[str, torch.nn.Module]:
        return {"actor": self.actor, "critic": self.critic, "critic_target": self.critic_target}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"actor_optim": self.actor_optim, "critic_optim": self.critic_optim, "alpha_optim": self.alpha_optim}
