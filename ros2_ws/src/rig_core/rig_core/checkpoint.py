"""Checkpoints as tensors only (safetensors): model, optimizer and RNG state, replay data, progress.

Nothing is unpickled: metadata is JSON in the safetensors header. Loading checks every name and
shape against the model it goes into and raises CheckpointError with a one-line reason.
Files hold CPU tensors whatever device the agent trained on, and load onto the agent's device
(`load_tensors`, the map_location of these files): a checkpoint from a GPU workstation resumes on a CPU.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.numpy import load_file as load_numpy
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import load, load_file, save, save_file

from rig_core.agent import RIGAgent
from rig_core.config import RIGConfig
from rig_core.errors import CheckpointError, RigError
from rig_core.offline import learner_config_json, learner_name, make_learner
from rig_core.policy_weights import safetensors_metadata

FORMAT = "rig-ros2/agent/1"
POLICY_FORMAT = "rig-ros2/policy/1"
MODEL_FILE, REPLAY_FILE = "agent.safetensors", "replay.safetensors"


def _cpu_copy(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.detach().to("cpu", copy=True).contiguous()


def _optimizer_tensors(prefix: str, optim: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    out = {}
    for pid, state in optim.state_dict()["state"].items():
        for key, value in state.items():
            out[f"{prefix}.{pid}.{key}"] = _cpu_copy(torch.as_tensor(value))
    return out


def _stays_on_cpu(name: str) -> bool:
    """RNG states and optimizer step counts are CPU tensors on every device (torch.optim moves a step count to
    the parameters' device itself where its fused or capturable kernels want it there)."""
    return name.startswith("rng.") or name.endswith(".step")


def load_tensors(path: str | Path, device: str | torch.device = "cpu",
                 keep_on_cpu: Callable[[str], bool] = _stays_on_cpu) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file on `device` (map_location), except those `keep_on_cpu` names.

    One path for every device: read into CPU memory, then moved, so a test on any second device (even "meta")
    exercises what a GPU load does. Raises CheckpointError when the file is unreadable.
    """
    device = torch.device(device)
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"corrupt checkpoint {path}: {err}") from None
    if device.type == "cpu":
        return tensors
    return {k: v if keep_on_cpu(k) else v.to(device) for k, v in tensors.items()}


def _load_optimizer(prefix: str, optim: torch.optim.Optimizer, tensors: dict[str, torch.Tensor]) -> None:
    sd = optim.state_dict()
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        if name.startswith(prefix + "."):
            pid, key = name[len(prefix) + 1:].split(".", 1)
            state.setdefault(int(pid), {})[key] = value
    sd["state"] = state
    optim.load_state_dict(sd)


def agent_tensors(agent: RIGAgent) -> dict[str, torch.Tensor]:
    tensors: dict[str, torch.Tensor] = {}
    modules = {"vae": agent.vae, **agent.learner.modules()}
    for name, module in modules.items():
        tensors.update({f"{name}.{k}": _cpu_copy(v) for k, v in module.state_dict().items()})
    optims = {"vae_optim": agent.vae_optim, **agent.learner.optimizers()}
    for name, optim in optims.items():
        tensors.update(_optimizer_tensors(name, optim))
    tensors["rng.torch"] = torch.get_rng_state()
    tensors["rng.goal"] = agent.torch_rng.get_state()
    if agent.device.type == "cuda":  # target noise, VAE and policy sampling draw from the GPU's generator there
        tensors["rng.cuda"] = torch.cuda.get_rng_state(agent.device)
    return tensors


def _atomic(path: Path, write) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def save_checkpoint(agent: RIGAgent, directory: str | Path, progress: dict[str, Any] | None = None,
                    with_replay: bool = True) -> Path:
    """Write agent (+ replay) tensors to `directory`, atomically, and return the directory."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    metadata = {
        "format": FORMAT,
        "config": json.dumps(agent.config.to_dict()),
        "td3_updates": str(agent.learner.updates),  # the learner's updates (name kept for older checkpoints)
        "learner": learner_name(agent.learner),
        "learner_config": learner_config_json(agent.learner),
        "vae_version": str(agent.vae_version),
        "numpy_rng": json.dumps(agent.rng.bit_generator.state),
        "progress": json.dumps(progress or {}),
    }
    if with_replay:  # replay first: the model file's presence marks a complete checkpoint
        _atomic(directory / REPLAY_FILE, lambda p: save_numpy(agent.buffer.state_arrays(), str(p)))
    _atomic(directory / MODEL_FILE, lambda p: save_file(agent_tensors(agent), str(p), metadata=metadata))
    return directory


def file_metadata(path: Path, fmt: str, kind: str, missing: str = "checkpoint") -> dict[str, str]:
    """The JSON metadata of safetensors file `path`, checked to be of format `fmt`; CheckpointError when the file is
    missing ("no {missing} at …"), unreadable, or of another format ("… is not a {kind}")."""
    if not path.is_file():
        raise CheckpointError(f"no {missing} at {path}")
    try:
        from safetensors import safe_open

        with safe_open(str(path), "pt") as f:
            metadata = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"corrupt checkpoint {path}: {err}") from None
    if metadata.get("format") != fmt:
        raise CheckpointError(f"{path} is not a {kind} (format {metadata.get('format')!r})")
    return metadata


def read_metadata(directory: str | Path) -> dict[str, str]:
    return file_metadata(Path(directory) / MODEL_FILE, FORMAT, "rig-ros2 agent checkpoint")


def load_config(directory: str | Path) -> RIGConfig:
    try:
        return RIGConfig.from_dict(json.loads(read_metadata(directory)["config"]))
    except (KeyError, json.JSONDecodeError, RigError, TypeError) as err:
        raise CheckpointError(f"checkpoint config in {directory} is unreadable: {err}") from None


def _load_module(name: str, module: torch.nn.Module, tensors: dict[str, torch.Tensor], source: Path) -> None:
    expected = module.state_dict()
    prefix = name + "."
    found = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    missing = sorted(set(expected) - set(found))
    if missing:
        raise CheckpointError(f"{source}: missing tensor {prefix}{missing[0]}")
    for key, value in expected.items():
        if found[key].shape != value.shape:
            raise CheckpointError(f"{source}: tensor {prefix}{key} has shape {tuple(found[key].shape)}, "
                                  f"model expects {tuple(value.shape)}")
    module.load_state_dict(found)


def load_checkpoint(agent: RIGAgent, directory: str | Path, with_replay: bool = True) -> dict[str, Any]:
    """Restore `agent` in place from `directory`, onto the agent's device; return the saved progress dict."""
    directory = Path(directory)
    metadata = read_metadata(directory)
    path = directory / MODEL_FILE
    tensors = load_tensors(path, agent.device)
    learner = metadata.get("learner", "td3")
    if learner != learner_name(agent.learner):  # fine-tuning runs (AWAC, IQL, TD3+BC) resume as themselves
        try:
            agent.learner = make_learner(learner, metadata["learner_config"], 2 * agent.config.vae.latent_dim,
                                         agent.action_dim, agent.config.seed, agent.device)
        except (KeyError, ValueError, TypeError) as err:
            raise CheckpointError(f"{path}: learner {learner!r} cannot be rebuilt: {err}") from None
    for name, module in {"vae": agent.vae, **agent.learner.modules()}.items():
        _load_module(name, module, tensors, path)
    try:
        for name, optim in {"vae_optim": agent.vae_optim, **agent.learner.optimizers()}.items():
            _load_optimizer(name, optim, tensors)
        torch.set_rng_state(tensors["rng.torch"])
        agent.torch_rng.set_state(tensors["rng.goal"])
        if agent.device.type == "cuda" and "rng.cuda" in tensors:  # saved on a GPU, resumed on one
            torch.cuda.set_rng_state(tensors["rng.cuda"], agent.device)
        agent.rng.bit_generator.state = json.loads(metadata["numpy_rng"])
        agent.learner.updates = int(metadata["td3_updates"])
        agent.vae_version = int(metadata["vae_version"])
    except (KeyError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path}: optimizer or RNG state does not match: {err}") from None
    if with_replay:
        replay_path = directory / REPLAY_FILE
        try:
            arrays = load_numpy(str(replay_path))
            agent.buffer.load_state_arrays(arrays)
        except (SafetensorError, OSError, KeyError) as err:
            raise CheckpointError(f"replay data {replay_path} is missing or corrupt: {err}") from None
        except RigError as err:
            raise CheckpointError(f"{replay_path}: {err}") from None
    return json.loads(metadata.get("progress", "{}"))


# ---- policy weights: what travels to the policy / encoder nodes ---------------------------------
def policy_bytes(agent: RIGAgent, version: int) -> bytes:
    """Actor + VAE weights as safetensors bytes of CPU tensors (for topics and for the policy node): the
    policy and encoder nodes run on the robot PC's CPU whatever device the trainer uses."""
    tensors = {f"vae.{k}": _cpu_copy(v) for k, v in agent.vae.state_dict().items()}
    actor = agent.learner.actor  # a Gaussian policy (AWAC, IQL) travels as its mean: what the robot executes
    state = actor.deterministic_state_dict() if hasattr(actor, "deterministic_state_dict") else actor.state_dict()
    tensors.update({f"actor.{k}": _cpu_copy(v) for k, v in state.items()})
    pool = agent.skewed_goal_pool(seed=version)
    if pool is not None:  # Skew-Fit's p_skewed goals, for the episode node (policy_weights.imagined_goal)
        tensors["goals.skewed"] = torch.from_numpy(pool)
    meta = {"format": POLICY_FORMAT, "version": str(version), "config": json.dumps(agent.config.to_dict()),
            "vae_version": str(agent.vae_version)}  # 0: no VAE trained yet, the actor acts on noise
    return save(tensors, metadata=meta)


def load_policy_bytes(agent: RIGAgent, data: bytes) -> int:
    """Load actor + VAE weights from `policy_bytes()` output into `agent`; return their version."""
    try:
        tensors = load(bytes(data))
    except (SafetensorError, ValueError) as err:
        raise CheckpointError(f"policy weights are corrupt: {err}") from None
    _load_module("vae", agent.vae, tensors, Path("<weights>"))
    _load_module("actor", agent.learner.actor, tensors, Path("<weights>"))
    return int(safetensors_metadata(data).get("version", 0))
