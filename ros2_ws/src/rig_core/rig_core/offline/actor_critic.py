"""What AWAC and IQL share: a Gaussian policy, twin critics with a Polyak-averaged target, Adam."""

from __future__ import annotations

import copy

import numpy as np
import torch

from rig_core.device import parse_device
from rig_core.networks import TwinCritic
from rig_core.offline.policy import GaussianPolicy
from rig_core.td3 import _adam


class GaussianActorCritic:
    """Networks, optimizers and the mean-action `act` of a stochastic-policy actor-critic; networks are
    initialised on the CPU and moved to `device` (as TD3's)."""

    def __init__(self, obs_dim: int, action_dim: int, policy_hidden: tuple[int, ...], critic_hidden: tuple[int, ...],
                 actor_lr: float, critic_lr: float, seed: int, device: str | torch.device = "cpu") -> None:
        torch.manual_seed(seed)
        self.device = parse_device(device)
        self.actor = GaussianPolicy(obs_dim, action_dim, policy_hidden).to(self.device)
        self.critic = TwinCritic(obs_dim, action_dim, critic_hidden).to(self.device)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.actor_optim = _adam(self.actor.parameters(), actor_lr)
        self.critic_optim = _adam(self.critic.parameters(), critic_lr)
        self.updates = 0
        self._pairs = (list(self.critic_target.parameters()), list(self.critic.parameters()))

    def weighted_actor_step(self, obs: torch.Tensor, action: torch.Tensor, weight: torch.Tensor,
                            tau: float) -> torch.Tensor:
        """Weighted maximum likelihood of dataset actions (AWAC, IQL's AWR), then the Polyak target update."""
        actor_loss = -(weight * self.actor.log_prob(obs, action)).mean()
        self.actor_optim.zero_grad(set_to_none=True)
        actor_loss.backward()
        self.actor_optim.step()
        with torch.no_grad():
            torch._foreach_lerp_(self._pairs[0], self._pairs[1], tau)
        self.updates += 1
        return actor_loss.detach()

    @torch.no_grad()
    def act(self, obs: np.ndarray) -> np.ndarray:
        """Mean action(s) for (obs_dim,) or (N, obs_dim) float32 observations."""
        return self.actor(torch.as_tensor(obs, dtype=torch.float32, device=self.device)).cpu().numpy()

    def modules(self) -> dict[str, torch.nn.Module]:
        return {"actor": self.actor, "critic": self.critic, "critic_target": self.critic_target}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"actor_optim": self.actor_optim, "critic_optim": self.critic_optim}
