"""The training device: parsing and its one-line errors, the VAE and learners on a second device, replay frames
kept uint8 on the CPU, and checkpoints mapped onto the loading agent's device.

This machine has no GPU. A GPU-less or 1-GPU machine is simulated only where parsing asks torch what is there
(torch.cuda.is_available / device_count); no CUDA tensor is ever made. The second device is torch's "meta":
like CUDA, it refuses to mix with CPU tensors in an op, so an update that runs there runs on its device alone.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from rig_core import checkpoint
from rig_core.agent import RIGAgent
from rig_core.checkpoint import load_checkpoint, load_policy_bytes, load_tensors, policy_bytes, save_checkpoint
from rig_core.cli import main as rig_main
from rig_core.config import default_config
from rig_core.device import parse_device, torch_threads
from rig_core.errors import DeviceError
from rig_core.images import to_tensor
from rig_core.offline import ALGORITHMS, TrajectoryDataset

META = torch.device("meta")
D = 4


def _config():
    return default_config("point", replay_capacity=1000, td3={"hidden_sizes": [32, 32], "batch_size": 16},
                          vae={"latent_dim": D, "pretrain_batches": 5})


def _fill(agent: RIGAgent, steps: int = 30) -> np.ndarray:
    """Store one episode of random frames and latents; return the frames."""
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (steps + 1, 48, 48, 3), dtype=np.uint8)
    zeros = np.zeros(D, np.float32)
    agent.buffer.start_episode(frames[0], rng.normal(size=D).astype(np.float32), zeros)
    for t in range(steps):
        agent.buffer.add_step(rng.uniform(-1, 1, 2), rng.normal(size=D), frames[t + 1],
                              rng.normal(size=D).astype(np.float32), zeros)
    return frames


def _one_line(text: str) -> bool:
    return len(text.strip().splitlines()) == 1 and "Traceback" not in text


@pytest.fixture
def one_gpu(monkeypatch):
    """What torch reports on a machine with one CUDA GPU (only the questions parse_device asks)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)


# ---- parsing --------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", [None, "cpu", " CPU ", torch.device("cpu")])
def test_cpu_in_any_spelling(spec):
    assert parse_device(spec) == torch.device("cpu")


def test_cuda_on_a_one_gpu_machine(one_gpu):
    assert parse_device("cuda") == torch.device("cuda", 0)
    assert parse_device("cuda:0") == parse_device(torch.device("cuda:0")) == torch.device("cuda", 0)
    with pytest.raises(DeviceError, match=r"'cuda:1': there is no CUDA device 1 \(1 visible: cuda:0\)"):
        parse_device("cuda:1")
    with pytest.raises(DeviceError, match="no CUDA device 3"):
        parse_device(torch.device("cuda", 3))


def test_cuda_without_a_gpu_is_one_clear_line(no_gpu):
    for spec in ("cuda", "cuda:0", "cuda:7"):
        with pytest.raises(DeviceError) as err:
            parse_device(spec)
        assert f"device {spec!r}: CUDA is not available" in str(err.value) and _one_line(str(err.value))


@pytest.mark.parametrize("spec", ["gpu", "", "cuda:", "cuda:x", "cuda:-1", "cuda0", "cuda:0:1", "cpu:0", "meta", "mps"])
def test_malformed_strings_are_rejected(spec, one_gpu):
    with pytest.raises(DeviceError, match=f"device {spec!r} is not one of cpu, cuda, cuda:N"):
        parse_device(spec)


def test_other_torch_device_objects_pass_through():
    assert parse_device(META) == META


# ---- the command lines ------------------------------------------------------------------------
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_rig_run_with_cuda_here_exits_nonzero_with_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "rig_core.cli", "run", "--device", "cuda", "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("rig: error: device 'cuda': CUDA is not available") and _one_line(done.stderr)
    assert not (tmp_path / "r").exists()  # checked before any work


@pytest.mark.parametrize("argv, message", [
    (["run", "--device", "cuda:1"], "rig: error: device 'cuda:1': there is no CUDA device 1 (1 visible: cuda:0)"),
    (["run", "--device", "gpu0"], "rig: error: device 'gpu0' is not one of cpu, cuda, cuda:N"),
    (["eval", "--checkpoint", "/nonexistent", "--device", "cuda:2"], "rig: error: device 'cuda:2': there is no CUDA"),
])
def test_cli_device_errors(argv, message, one_gpu, capsys):
    assert rig_main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and _one_line(err)


# ---- models and batches on a device ---------------------------------------------------------------
def test_agent_networks_live_on_the_requested_device_and_the_replay_on_the_cpu():
    agent = RIGAgent(_config(), device=META)
    assert agent.device == META and agent.learner.device == META and agent.vae.device == META
    for name, module in {"vae": agent.vae, **agent.learner.modules()}.items():
        tensors = [*module.parameters(), *module.buffers()]
        assert tensors and all(t.device == META for t in tensors), name
    frames = _fill(agent)
    stored = agent.buffer.frames
    assert isinstance(stored, np.ndarray) and stored.dtype == np.uint8
    np.testing.assert_array_equal(stored[:len(frames)], frames)
    batch = to_tensor(stored[agent.buffer.slot(np.arange(5))], agent.vae.device)  # one VAE minibatch
    assert batch.device == META and batch.dtype == torch.float32 and batch.shape == (5, 3, 48, 48)
    assert agent.buffer.frames is stored and stored.dtype == np.uint8  # the buffer is left as it was


def test_cpu_agent_batches_are_cpu_float32_and_share_the_replay_arrays():
    agent = RIGAgent(_config(), device="cpu")
    _fill(agent)
    batch, _ = agent.sample_batch()
    fields = {k: v for k, v in vars(batch).items() if v is not None}
    assert set(fields) == {"obs", "action", "reward", "next_obs", "done", "is_demo"}
    assert all(v.device.type == "cpu" and v.dtype == torch.float32 and len(v) == 16 for v in fields.values())


def _dataset() -> TrajectoryDataset:
    rng = np.random.default_rng(1)
    latents = rng.normal(size=(41, D)).astype(np.float32)
    return TrajectoryDataset(latents[:-1], rng.uniform(-1, 1, (40, 2)), latents[1:], np.arange(40) < 20, np.zeros(40))


def _learner(name: str, device):
    cls, cfg_cls = ALGORITHMS[name]
    sizes = {"policy_hidden_sizes": (16,), "critic_hidden_sizes": (16,)} if name == "awac" else {"hidden_sizes": (16,)}
    return cls(2 * D, 2, cfg_cls(**sizes), seed=0, device=device)


@pytest.mark.parametrize("name", ["td3", *ALGORITHMS])
def test_every_learner_updates_on_its_device(name):
    """Batches built on the CPU arrive on the device; two updates (TD3's delayed actor step included) run there."""
    learner = RIGAgent(_config(), device=META).learner if name == "td3" else _learner(name, META)
    dataset, rng = _dataset(), np.random.default_rng(0)
    for _ in range(2):
        batch = dataset.sample(16, rng, "future", demo_batch_size=4, device=META)
        assert all(v.device == META for v in vars(batch).values() if v is not None)
        stats = learner.update(batch)
        assert stats and all(v.device == META for v in stats.values())
    assert all(p.device == META for m in learner.modules().values() for p in m.parameters())
    moments = [v for o in learner.optimizers().values() for s in o.state.values() for k, v in s.items() if k != "step"]
    assert moments and all(v.device == META for v in moments)
    assert isinstance(dataset.latents, np.ndarray)


# ---- checkpoints across devices -------------------------------------------------------------------
@pytest.fixture
def saved(tmp_path):
    """A checkpoint written by a CPU agent after a few updates (optimizer state included)."""
    agent = RIGAgent(_config())
    _fill(agent)
    agent.train(3)
    save_checkpoint(agent, tmp_path)
    return agent, tmp_path


def test_load_tensors_maps_onto_another_device(saved):
    _, path = saved
    on_cpu = load_tensors(path / checkpoint.MODEL_FILE, "cpu")
    on_meta = load_tensors(path / checkpoint.MODEL_FILE, META)
    assert set(on_cpu) == set(on_meta) and all(t.device.type == "cpu" for t in on_cpu.values())
    for name, tensor in on_meta.items():
        expected = "cpu" if name.startswith("rng.") or name.endswith(".step") else "meta"
        assert tensor.device.type == expected, name
        assert tensor.shape == on_cpu[name].shape and tensor.dtype == on_cpu[name].dtype, name
    assert any(t.device == META for t in on_meta.values())


def test_checkpoint_from_the_cpu_loads_onto_the_cpu_exactly(saved):
    agent, path = saved
    fresh = RIGAgent(_config(), device="cpu")
    load_checkpoint(fresh, path)
    for name, module in {"vae": agent.vae, **agent.learner.modules()}.items():
        theirs = ({"vae": fresh.vae} | fresh.learner.modules())[name].state_dict()
        assert all(torch.equal(v, theirs[k]) for k, v in module.state_dict().items()), name
    torch_state = torch.get_rng_state()
    expected = agent.train(2)
    torch.set_rng_state(torch_state)
    assert fresh.train(2) == expected  # the same numbers, not merely close


def test_checkpoint_from_the_cpu_loads_onto_another_device(saved, monkeypatch):
    _, path = saved
    devices = []
    real = checkpoint.load_tensors
    monkeypatch.setattr(checkpoint, "load_tensors", lambda p, device, *a: devices.append(device) or real(p, device, *a))
    target = RIGAgent(_config(), device=META)
    load_checkpoint(target, path)
    assert devices == [META]  # the map_location path, with the agent's device
    assert len(target.buffer) == 30 and target.buffer.frames.dtype == np.uint8  # the replay loads onto the CPU
    for name, module in {"vae": target.vae, **target.learner.modules()}.items():
        assert all(t.device == META for t in [*module.parameters(), *module.buffers()]), name
    states = [s for o in target.learner.optimizers().values() for s in o.state.values()]
    assert states and all(s["exp_avg"].device == META for s in states)
    assert target.learner.updates == 3


def test_published_policy_weights_are_cpu_tensors(saved):
    from safetensors.torch import load

    agent, _ = saved
    data = policy_bytes(agent, version=4)
    assert all(t.device.type == "cpu" for t in load(data).values())
    robot = RIGAgent(_config())  # what the policy and encoder nodes hold: CPU networks
    assert load_policy_bytes(robot, data) == 4
    z = np.zeros(D, np.float32)
    np.testing.assert_array_equal(robot.act(z, z), agent.act(z, z))


def test_scripts_exit_with_one_line(no_gpu, capsys):
    from rig_core.device import device_or_exit

    assert device_or_exit("cpu", "bench") == torch.device("cpu")
    with pytest.raises(SystemExit) as stop:
        device_or_exit("cuda", "bench")
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.startswith("bench: error: device 'cuda': CUDA is not available") and _one_line(err)


def test_torch_threads_sets_the_count_for_the_block_and_restores_it_after_an_error():
    before = torch.get_num_threads()
    with torch_threads(before + 1):
        assert torch.get_num_threads() == before + 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), torch_threads(before + 2):
        assert torch.get_num_threads() == before + 2
        raise RuntimeError("inside")
    assert torch.get_num_threads() == before
    with torch_threads(0):  # 0: unchanged
        assert torch.get_num_threads() == before
