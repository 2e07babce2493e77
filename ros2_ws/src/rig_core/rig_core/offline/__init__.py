"""Offline RL from demonstrations and logged data (thesis ch. 5–7): TD3 + BC loss with the Q-filter, AWAC, IQL.

Every algorithm has the TD3 interface (`update(batch) -> dict`, `act(obs)`, `modules()`, `optimizers()`),
so the RIG loop, the trainer node and the checkpoints drive any of them the same way.
"""

from rig_core.offline.awac import AWAC, AWACConfig, awac_weights
from rig_core.offline.dataset import DemoBatch, TrajectoryDataset
from rig_core.offline.iql import IQL, IQLConfig, expectile_loss
from rig_core.offline.policy import GaussianPolicy
from rig_core.offline.td3_bc import TD3BC, TD3BCConfig, q_filter_mask

ALGORITHMS = {"td3_bc": (TD3BC, TD3BCConfig), "awac": (AWAC, AWACConfig), "iql": (IQL, IQLConfig)}

__all__ = ["ALGORITHMS", "AWAC", "IQL", "TD3BC", "AWACConfig", "DemoBatch", "GaussianPolicy", "IQLConfig",
           "TD3BCConfig", "TrajectoryDataset", "awac_weights", "expectile_loss", "q_filter_mask"]
