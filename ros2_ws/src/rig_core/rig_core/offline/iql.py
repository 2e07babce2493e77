"""Implicit Q-learning (thesis ch. 7): expectile value learning, then advantage-weighted policy extraction."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rig_core.networks import mlp
from rig_core.offline.actor_critic import GaussianActorCritic
from rig_core.td3 import Batch, _adam


@dataclass(frozen=True)
class IQLConfig:
    """Thesis App. E.2: offline-then-fine-tune setting (τ = 0.8, β = 3.0, 25K offline steps, σ = 0.03);
    locomotion uses τ = 0.7, β = 3.0 and Ant Maze τ = 0.9, β = 10."""

    expectile: float = 0.8  # τ
    temperature: float = 3.0  # β, inverse temperature of Eq. 42
    max_weight: float = 100.0  # exponentiated advantages clipped to (−∞, 100]
    actor_lr: float = 3e-4
    critic_lr: float = 3e-4
    value_lr: float = 3e-4
    tau: float = 5e-3  # α, soft target update
    gamma: float = 0.99
    batch_size: int = 256  # not listed in the thesis; the IQL release's value
    hidden_sizes: tuple[int, ...] = (256, 256)  # "2 layer MLP with ReLU activations and 256 hidden units"
    offline_steps: int = 25_000
    exploration_noise: float = 0.03  # Gaussian noise σ added to the policy when fine-tuning online
    reward_scale: float = 1.0


def expectile_loss(diff: torch.Tensor, expectile: float) -> torch.Tensor:
    """L₂^τ(u) = |τ − 1(u < 0)| u², elementwise (thesis §7.2.1)."""
    weight = torch.where(diff < 0, 1.0 - expectile, expectile)
    return weight * diff.pow(2)


class IQL(GaussianActorCritic):
    """V by expectile regression of the target Q (Eq. 40), Q by TD on V(s') (Eq. 41), π by AWR (Eq. 42).

    Policy extraction runs concurrently with TD learning (one step of each per update), which the
    thesis notes is equivalent because π never enters the value losses and is what fine-tuning uses.
    """

    def __init__(self, obs_dim: int, action_dim: int, config: IQLConfig | None = None, seed: int = 0,
                 device: str | torch.device = "cpu") -> None:
        self.config = config = config or IQLConfig()
        super().__init__(obs_dim, action_dim, config.hidden_sizes, config.hidden_sizes, config.actor_lr,
                         config.critic_lr, seed, device)
        self.value = mlp([obs_dim, *config.hidden_sizes, 1]).to(self.device)
        self.value_optim = _adam(self.value.parameters(), config.value_lr)

    def update(self, batch: Batch) -> dict[str, float]:
        """One gradient step on each of V, Q and π, then the soft target update (Algorithm 5)."""
        cfg = self.config
        with torch.no_grad():  # clipped double Q: the minimum of the two target critics
            target_q = self.critic_target(batch.obs, batch.action).min(0).values
        # thesis §7.2.2 Eq. 40: V(s) fits the τ-expectile of Q̂(s, a) over dataset actions
        value = self.value(batch.obs).squeeze(-1)
        value_loss = expectile_loss(target_q - value, cfg.expectile).mean()
        self.value_optim.zero_grad(set_to_none=True)
        value_loss.backward()
        self.value_optim.step()
        # thesis §7.2.2 Eq. 41: Q(s, a) regresses on r + γ V(s'), averaging over transition noise
        with torch.no_grad():
            target = batch.reward + cfg.gamma * (1.0 - batch.done) * self.value(batch.next_obs).squeeze(-1)
        critic_loss = (self.critic(batch.obs, batch.action) - target).pow(2).mean(1).sum()
        self.critic_optim.zero_grad(set_to_none=True)
        critic_loss.backward()
        self.critic_optim.step()
        # thesis §7.2.3 Eq. 42: advantage-weighted regression, weights exp(β (Q̂ − V)) clipped at 100
        with torch.no_grad():
            weight = torch.exp(cfg.temperature * (target_q - value.detach())).clamp(max=cfg.max_weight)
        actor_loss = self.weighted_actor_step(batch.obs, batch.action, weight, cfg.tau)
        return {"iql/value_loss": value_loss.detach(), "iql/critic_loss": critic_loss.detach(),
                "iql/actor_loss": actor_loss, "iql/weight_mean": weight.mean()}

    def modules(self) -> dict[str, torch.nn.Module]:
        return {**super().modules(), "value": self.value}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {**super().optimizers(), "value_optim": self.value_optim}
