"""Online fine-tuning from offline pre-training (thesis ch. 6–7: offline pre-training, then online RL with the
demonstrations kept in the replay buffer).

The online learner is the RIG agent's TD3. It starts from the offline networks: the VAE, the actor (TD3+BC's
actor, or AWAC's / IQL's Gaussian policy mean, which has the same layers) and, where the shapes agree, the
twin critic. Demonstrations go into the agent's `ImageReplayBuffer` as whole episodes flagged `is_demo`,
with the final frame as the rollout goal (relabeling then draws goals from each demo's future).
"""

from __future__ import annotations

import numpy as np
import torch

from rig_core.agent import RIGAgent
from rig_core.errors import CheckpointError, DataError


def actor_state(actor_tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """An offline actor's state dict as TD3's `Actor` takes it (a Gaussian policy's mean network)."""
    if any(k.startswith("mean_net.") for k in actor_tensors):
        return {k.replace("mean_net.", "net.", 1): v for k, v in actor_tensors.items() if k.startswith("mean_net.")}
    return dict(actor_tensors)


def _sub(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


def _fits(module: torch.nn.Module, state: dict[str, torch.Tensor]) -> bool:
    expected = module.state_dict()
    return bool(state) and set(state) == set(expected) and all(state[k].shape == expected[k].shape for k in expected)


def start_from_offline(agent: RIGAgent, tensors: dict[str, torch.Tensor]) -> list[str]:
    """Load offline networks (`{module}.{param}` tensors: vae, actor, critic[, critic_target]) into `agent`.

    The VAE and actor must fit (CheckpointError otherwise); the critic is taken when its shapes fit. Targets
    start equal to their networks unless the offline run saved its own. Returns what was loaded.
    """
    vae, actor = _sub(tensors, "vae"), actor_state(_sub(tensors, "actor"))
    if not _fits(agent.vae, vae):
        raise CheckpointError("offline VAE does not fit the agent (image size or latent dim differ)")
    if not _fits(agent.td3.actor, actor):
        raise CheckpointError("offline actor does not fit the agent's TD3 actor (hidden sizes or dims differ)")
    agent.vae.load_state_dict(vae)
    agent.td3.actor.load_state_dict(actor)
    agent.td3.actor_target.load_state_dict(actor)
    loaded = ["vae", "actor"]
    critic = _sub(tensors, "critic")
    if _fits(agent.td3.critic, critic):
        target = _sub(tensors, "critic_target")
        agent.td3.critic.load_state_dict(critic)
        agent.td3.critic_target.load_state_dict(target if _fits(agent.td3.critic_target, target) else critic)
        loaded.append("critic")
    agent.vae_version = max(agent.vae_version, 1)  # trained: no VAE pre-training online
    agent.buffer.reencode(agent.vae.encode)
    return loaded


def add_demo_episodes(agent: RIGAgent, episodes: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> int:
    """Store (frames (T+1, S, S, 3) uint8, actions (T, A), is_demo (T,)) episodes in the agent's replay.

    The rollout goal of every step is the episode's final latent. Demos are not env steps of this run,
    so `buffer.env_steps` (the online step count) is left unchanged. Returns the transitions stored.
    """
    buf, n = agent.buffer, 0
    env_steps = buf.env_steps
    for frames, actions, is_demo in episodes:
        if len(frames) != len(actions) + 1 or len(is_demo) != len(actions) or len(actions) == 0:
            raise DataError(f"demo episode needs T+1 frames for T actions, got {len(frames)} and {len(actions)}")
        z, logvar = agent.encode(frames)
        buf.start_episode(frames[0], z[0], logvar[0])
        for t in range(len(actions)):
            buf.add_step(actions[t], z[-1], frames[t + 1], z[t + 1], logvar[t + 1], is_demo=bool(is_demo[t]))
        n += len(actions)
    buf.env_steps = env_steps
    return n
