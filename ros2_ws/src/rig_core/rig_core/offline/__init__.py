"""Offline RL from demonstrations and logged data (thesis ch. 5–7): TD3 + BC loss with the Q-filter, AWAC, IQL.

Every algorithm has the TD3 interface (`update(batch) -> dict`, `act(obs)`, `modules()`, `optimizers()`),
so the RIG loop, the trainer node and the checkpoints drive any of them the same way.
"""

from rig_core.offline.dataset import DemoBatch, TrajectoryDataset
from rig_core.offline.policy import GaussianPolicy
from rig_core.offline.td3_bc import TD3BC, TD3BCConfig, q_filter_mask

ALGORITHMS = {"td3_bc": (TD3BC, TD3BCConfig)}

__all__ = ["ALGORITHMS", "TD3BC", "DemoBatch", "GaussianPolicy", "TD3BCConfig", "TrajectoryDataset", "q_filter_mask"]
