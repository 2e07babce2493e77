"""Online fine-tuning from offline pre-training (thesis ch. 5–7: offline pre-training, then online RL with the
demonstrations kept in the replay buffer).

Given the offline algorithm, fine-tuning continues *that* algorithm online (AWAC §6.4, IQL §7.3, TD3+BC §5.4):
the agent's learner becomes the offline learner with every network (actor, critics, targets, IQL's V) as
pre-trained, and the replay's demo-flagged rows feed TD3+BC's BC loss and Q-filter. Without the algorithm,
the RIG agent's TD3 starts from the offline actor (a Gaussian policy's mean) and, where shapes fit, critic.
Demonstrations go into the replay as whole episodes flagged `is_demo`, with the final frame as the rollout
goal, and are pinned there: online steps never overwrite them.
"""

from __future__ import annotations

import numpy as np
import torch

from rig_core.agent import RIGAgent
from rig_core.errors import CheckpointError, DataError
from rig_core.offline import make_learner
from rig_core.offline.policy import mean_as_actor_state


def actor_state(actor_tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """An offline actor's state dict as TD3's `Actor` takes it (a Gaussian policy's mean network)."""
    if any(k.startswith("mean_net.") for k in actor_tensors):
        return mean_as_actor_state(actor_tensors)
    return dict(actor_tensors)


def _sub(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


def _fits(module: torch.nn.Module, state: dict[str, torch.Tensor]) -> bool:
    expected = module.state_dict()
    return bool(state) and set(state) == set(expected) and all(state[k].shape == expected[k].shape for k in expected)


def start_from_offline(agent: RIGAgent, tensors: dict[str, torch.Tensor], algo: str = "",
                       algo_config_json: str = "") -> list[str]:
    """Load offline networks (`{module}.{param}` tensors: vae, actor, critic[, critic_target, value]) into `agent`.

    With `algo` (an ALGORITHMS key) and its config JSON, the agent's learner becomes that algorithm with every
    one of its networks loaded (all must fit). Otherwise the TD3 actor must fit and the critic is taken when
    its shapes fit. Targets start equal to their networks unless saved. Returns what was loaded.
    """
    vae = _sub(tensors, "vae")
    if not _fits(agent.vae, vae):
        raise CheckpointError("offline VAE does not fit the agent (image size or latent dim differ)")
    if algo:
        return _start_learner(agent, tensors, vae, algo, algo_config_json)
    actor = actor_state(_sub(tensors, "actor"))
    if not _fits(agent.learner.actor, actor):
        raise CheckpointError("offline actor does not fit the agent's TD3 actor (hidden sizes or dims differ)")
    agent.learner.actor.load_state_dict(actor)
    agent.learner.actor_target.load_state_dict(actor)
    loaded = ["vae", "actor"]
    critic = _sub(tensors, "critic")
    if _fits(agent.learner.critic, critic):
        target = _sub(tensors, "critic_target")
        agent.learner.critic.load_state_dict(critic)
        agent.learner.critic_target.load_state_dict(target if _fits(agent.learner.critic_target, target) else critic)
        loaded.append("critic")
    _install_vae(agent, vae)
    return loaded


def _install_vae(agent: RIGAgent, vae: dict[str, torch.Tensor]) -> None:
    """The offline VAE becomes the agent's (trained: no VAE pre-training online); replay latents follow it."""
    agent.vae.load_state_dict(vae)
    agent.vae_version = max(agent.vae_version, 1)
    agent.buffer.reencode(agent.vae.encode)


def _start_learner(agent: RIGAgent, tensors: dict[str, torch.Tensor], vae: dict[str, torch.Tensor], algo: str,
                   algo_config_json: str) -> list[str]:
    try:
        learner = make_learner(algo, algo_config_json or "{}", 2 * agent.config.vae.latent_dim, agent.action_dim,
                               agent.config.seed, agent.device)
    except (ValueError, TypeError) as err:
        raise CheckpointError(f"offline learner {algo!r} cannot be built: {err}") from None
    modules = learner.modules()
    for name, module in modules.items():
        state = _sub(tensors, name)
        if not state and name.endswith("_target"):
            state = _sub(tensors, name.removesuffix("_target"))
        if not _fits(module, state):
            raise CheckpointError(f"offline {algo} {name} does not fit ({'missing' if not state else 'shapes differ'})")
        module.load_state_dict(state)
    agent.learner = learner
    _install_vae(agent, vae)
    return ["vae", *modules]


def explore(learner: object, action: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """The exploratory version of the policy's `action` for an offline learner online, in [-1, 1]; None for
    RIG's TD3 (the caller adds OU noise, Table 1).

    TD3+BC: a uniformly random action with probability `random_eps`, else uniform noise of ±`noise_eps`
    (§5.5.2). IQL: Gaussian noise of σ = `exploration_noise` (App. E.2). AWAC: a sample of its Gaussian
    policy (§6.4), the mean plus noise of the policy's own σ.
    """
    cfg = getattr(learner, "config", None)
    action = np.asarray(action, np.float32)
    if hasattr(cfg, "random_eps"):
        if rng.random() < cfg.random_eps:
            return rng.uniform(-1.0, 1.0, action.shape).astype(np.float32)
        return np.clip(action + rng.uniform(-cfg.noise_eps, cfg.noise_eps, action.shape), -1.0, 1.0).astype(np.float32)
    sigma = getattr(cfg, "exploration_noise", None)
    actor = getattr(learner, "actor", None)
    if sigma is None and hasattr(actor, "log_std"):
        with torch.no_grad():
            sigma = actor.log_std.clamp(actor.log_std_min, actor.log_std_max).exp().cpu().numpy()
    if sigma is None:
        return None
    return np.clip(action + rng.standard_normal(action.shape) * sigma, -1.0, 1.0).astype(np.float32)


def add_demo_episodes(agent: RIGAgent, episodes: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> int:
    """Store (frames (T+1, S, S, 3) uint8, actions (T, A), is_demo (T,)) episodes in the agent's replay.

    The rollout goal of every step is the episode's final latent. Demos are not env steps of this run,
    so `buffer.env_steps` (the online step count) is left unchanged. The demos are pinned in the buffer
    (online steps never overwrite them), so add them before any online step. Returns the transitions stored.
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
    buf.pin()
    return n
