"""Online fine-tuning for trainer_node: start from `offline_train`'s output and keep demo bags in the replay.

    trainer_node --ros-args -p init_checkpoint:=runs/offline_awac -p demo_bags:=bags/demo1,bags/demo2

`init_checkpoint` is an offline_train output directory (or its offline.safetensors); its config fixes the
image size, the VAE and the network sizes of the online agent, and training goes on with its algorithm
(AWAC, IQL or TD3+BC, every network as pre-trained; rig_core.offline.finetune). `demo_bags` are read with the offline dataset
code (`bag_dataset`) and stored whole, flagged is_demo (rig_core.offline.finetune).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open

from rig_core.agent import RIGAgent
from rig_core.config import RIGConfig
from rig_core.errors import CheckpointError, RigError
from rig_core.offline.finetune import add_demo_episodes, start_from_offline
from rig_trainer.bag_dataset import load_steps, transitions

OFFLINE_FILE = "offline.safetensors"


def _offline_file(path: str | Path) -> Path:
    path = Path(path)
    return path / OFFLINE_FILE if path.is_dir() else path


def read_offline(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of an offline_train checkpoint; CheckpointError naming the file if unusable."""
    file = _offline_file(path)
    try:
        with safe_open(str(file), "pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open has no __iter__
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{file}: not a readable offline checkpoint ({err})") from None
    if meta.get("format") != "rig-ros2/offline/1":
        raise CheckpointError(f"{file}: not an offline_train checkpoint (format {meta.get('format')!r})")
    return tensors, meta


def finetune_config(config: RIGConfig, init_checkpoint: str | Path) -> RIGConfig:
    """`config` with the offline run's image size, VAE settings and network sizes (so its weights fit)."""
    _, meta = read_offline(init_checkpoint)
    offline = RIGConfig.from_dict(json.loads(meta["config"]))
    td3 = dataclasses.replace(config.td3, hidden_sizes=offline.td3.hidden_sizes)
    return dataclasses.replace(config, image_size=offline.image_size, vae=offline.vae, td3=td3)


def demo_episodes(bags: list[str], image_size: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(frames, actions, is_demo) per gap-free episode segment of the bags' experience steps."""
    steps = load_steps(bags, image_size)
    obs, nxt, seg = transitions(steps)
    episodes = []
    for s in np.unique(seg):
        rows = np.flatnonzero(seg == s)
        frames = steps.images[np.append(obs[rows], nxt[rows[-1]])]
        episodes.append((frames, steps.actions[obs[rows]], steps.is_demo[obs[rows]]))
    return episodes


def start(agent: RIGAgent, init_checkpoint: str, demo_bags: list[str]) -> str:
    """Load the offline checkpoint and the demos into `agent`; a one-line summary for the log."""
    parts = []
    try:
        if init_checkpoint:
            tensors, meta = read_offline(init_checkpoint)
            loaded = start_from_offline(agent, tensors, meta.get("algo", ""), meta.get("algo_config", ""))
            parts.append(f"{meta.get('algo', '?')} checkpoint {init_checkpoint} ({', '.join(loaded)})")
        if demo_bags:
            n = add_demo_episodes(agent, demo_episodes(demo_bags, agent.config.image_size))
            parts.append(f"{n} demo transitions from {len(demo_bags)} bag(s)")
    except RigError as err:
        raise RuntimeError(f"trainer_node: fine-tuning start failed: {err}") from None
    return "fine-tuning from " + "; ".join(parts)
