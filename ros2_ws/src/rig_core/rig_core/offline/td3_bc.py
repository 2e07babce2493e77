"""TD3 with the behaviour-cloning loss and the Q-filter on demonstrations (thesis ch. 5, §5.4.2–5.4.3).

Chapter 5 builds on DDPG; here the RL part is the project's TD3 (twin critics, target smoothing,
delayed actor), and the actor loss is Eq. 18: λ1 · (−J) + λ2 · L_BC, with L_BC from Eq. 19.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rig_core.config import TD3Config
from rig_core.td3 import TD3, Batch


@dataclass(frozen=True)
class TD3BCConfig(TD3Config):
    """Thesis §5.5.2 training details (TD3-only fields keep `TD3Config`'s RIG Table 1 values)."""

    actor_lr: float = 1e-3  # Adam, learning rate 10⁻³
    critic_lr: float = 1e-3
    batch_size: int = 1024  # N
    demo_batch_size: int = 128  # N_D demonstration examples drawn into each minibatch (§5.4.1)
    gamma: float = 0.98
    hidden_sizes: tuple[int, ...] = (256, 256, 256, 256)  # "4 layer networks with 256 hidden units" (§5.6)
    rl_weight: float = 1e-3  # λ1
    bc_weight: float = 1.0  # λ2 · N_D: λ2 = 1/N_D, so the BC sum is divided by the batch's demo count
    q_filter: bool = True  # Eq. 19; False gives the "No Q-Filter" ablation (§5.8)
    l2_reg: float = 5e-3  # L2 regularisation of π and Q
    random_eps: float = 0.1  # online: a uniformly random action with this probability at every step
    noise_eps: float = 0.1  # online: otherwise uniform noise over ±10 % of the action range


def q_filter_mask(q_demo: torch.Tensor, q_policy: torch.Tensor, is_demo: torch.Tensor) -> torch.Tensor:
    """1(Q(s, a_demo) > Q(s, π(s))) on demonstration rows, 0 elsewhere (Eq. 19)."""
    return ((q_demo > q_policy) & (is_demo > 0.5)).float()


def _l2(module: torch.nn.Module) -> torch.Tensor:
    return sum(p.pow(2).sum() for p in module.parameters())


class TD3BC(TD3):
    """TD3 whose actor also clones demonstrated actions where the critic prefers them (Q-filter).

    Batches are `td3.Batch` or `offline.DemoBatch`; without an `is_demo` field every row is treated as
    a demonstration. Reuses TD3's networks, targets, `act`, `modules` and `optimizers`.
    """

    config: TD3BCConfig

    def __init__(self, obs_dim: int, action_dim: int, config: TD3BCConfig | None = None, seed: int = 0,
                 device: str | torch.device = "cpu") -> None:
        super().__init__(obs_dim, action_dim, config or TD3BCConfig(), seed, device)

    def update(self, batch: Batch) -> dict[str, float]:
        """One step: TD3 critic; every `policy_delay` steps the Eq. 18 actor step and Polyak targets."""
        cfg = self.config
        stats = {"td3_bc/critic_loss": self.critic_step(batch, cfg.l2_reg * _l2(self.critic))}
        if self.updates % cfg.policy_delay == 0:
            is_demo = getattr(batch, "is_demo", None)
            is_demo = torch.ones_like(batch.reward) if is_demo is None else is_demo
            action = self.actor(batch.obs)
            q_policy = self.critic.q1_frozen(batch.obs, action)
            with torch.no_grad():  # thesis §5.4.3: BC only where Q(s, a_demo) > Q(s, π(s)), Q1 as in the actor loss
                q_demo = self.critic.q1_frozen(batch.obs, batch.action)
                mask = q_filter_mask(q_demo, q_policy, is_demo) if cfg.q_filter else is_demo
            bc = ((action - batch.action).pow(2).sum(-1) * mask).sum() / is_demo.sum().clamp(min=1.0)
            # thesis §5.4.2 Eq. 18: λ1 ∇J − λ2 ∇L_BC (J maximised, L_BC minimised)
            actor_loss = cfg.rl_weight * -q_policy.mean() + cfg.bc_weight * bc + cfg.l2_reg * _l2(self.actor)
            self.actor_step(actor_loss)
            stats |= {"td3_bc/actor_loss": actor_loss.detach(), "td3_bc/bc_loss": bc.detach(),
                      "td3_bc/q_filter_rate": mask.sum() / is_demo.sum().clamp(min=1.0)}
        return stats
