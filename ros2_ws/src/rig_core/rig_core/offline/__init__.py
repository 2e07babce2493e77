"""Offline RL from demonstrations and logged data (thesis ch. 5–7): TD3 + BC loss with the Q-filter, AWAC, IQL.

Every algorithm has the TD3 interface (`update(batch) -> dict`, `act(obs)`, `modules()`, `optimizers()`),
so the RIG loop, the trainer node and the checkpoints drive any of them the same way.
"""

import dataclasses
import json
from typing import Any

import torch

from rig_core.offline.awac import AWAC, AWACConfig, awac_weights
from rig_core.offline.dataset import DemoBatch, TrajectoryDataset
from rig_core.offline.iql import IQL, IQLConfig, expectile_loss
from rig_core.offline.policy import GaussianPolicy
from rig_core.offline.td3_bc import TD3BC, TD3BCConfig, q_filter_mask

ALGORITHMS = {"td3_bc": (TD3BC, TD3BCConfig), "awac": (AWAC, AWACConfig), "iql": (IQL, IQLConfig)}


def learner_name(learner: Any) -> str:
    """The ALGORITHMS key of `learner`, or "td3" for RIG's own TD3."""
    return next((name for name, (cls, _) in ALGORITHMS.items() if type(learner) is cls), "td3")


def learner_config_json(learner: Any) -> str:
    return json.dumps(dataclasses.asdict(learner.config))


def make_learner(name: str, config_json: str, obs_dim: int, action_dim: int, seed: int,
                 device: str | torch.device = "cpu") -> Any:
    """An ALGORITHMS learner on `device` from its name and `learner_config_json` text (lists become tuples)."""
    if name not in ALGORITHMS:
        raise ValueError(f"unknown learner {name!r} (known: {', '.join(sorted(ALGORITHMS))})")
    cls, cfg_cls = ALGORITHMS[name]
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(config_json).items()}
    known = {f.name for f in dataclasses.fields(cfg_cls)}
    return cls(obs_dim, action_dim, cfg_cls(**{k: v for k, v in fields.items() if k in known}), seed=seed, device=device)

__all__ = [
    "ALGORITHMS",
    "AWAC",
    "IQL",
    "TD3BC",
    "AWACConfig",
    "DemoBatch",
    "GaussianPolicy",
    "IQLConfig",
    "TD3BCConfig",
    "TrajectoryDataset",
    "awac_weights",
    "expectile_loss",
    "learner_config_json",
    "learner_name",
    "make_learner",
    "q_filter_mask",
]
