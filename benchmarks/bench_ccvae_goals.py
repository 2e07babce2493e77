"""Imagined goals on the multi-colour pusher, RIG vs CC-RIG (thesis §3.5.3, Fig. 11): the share of decoded goals
whose puck keeps the colour of the scene they were proposed for (`--env varying_pusher`: whose puck count is the
scene's, RIG §5's varying number of objects).

Random OU exploration (as `rig run`) fills a RIG agent (β-VAE) and a CC-RIG agent (CC-VAE) with the same frames;
each trains its VAE on them (`train_vae_on_replay`, the code `rig run` uses). On held-out scenes (another env seed),
RIG imagines goals from its prior, CC-RIG from N(0, I) with the scene's zc (§3.4.2). A colour probe
(`rig_core.scene_probe`, trained on the real exploration frames only) reads the puck colour of each decoded goal;
a goal matches when that colour is nearest its own scene's among `--group` scenes (chance 1/group). On the varying
pusher a count probe reads 0, 1 or 2 pucks and a goal matches when the count is its scene's (chance Σ p_k², the rate
of goals that ignore the scene but have the scenes' count frequencies). The probe's
ceiling is its rate on the real first frames of the held-out scenes; each model's reconstructions of those frames
show how much of the colour its decodes keep at all. Measured `--checks` times during VAE training.

Run: nice -n 19 .venv/bin/python benchmarks/bench_ccvae_goals.py [--episodes 100] [--batches 2000] [--scenes 128]
Writes benchmarks/results/ccvae_goals.json and ccvae_goals.png (goals for four scenes: CC-RIG beside RIG).
With `--checkpoints RIG_DIR CC_RIG_DIR` (the checkpoint directories of two `rig run --env color_pusher` runs, `--vae
vae` and `--vae ccvae`) it measures the VAEs those runs trained instead of training its own; a run with Skew-Fit's
p_skewed goals (`--goals skewfit`) is measured on the goals it proposes, p_skewed built from its replay.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np
import torch

import sawyer_sim
from rig_core.agent import RIGAgent
from rig_core.checkpoint import load_checkpoint, load_config
from rig_core.config import default_config
from rig_core.images import to_uint8
from rig_core.noise import OUNoise
from rig_core.scene_probe import colour_match, count_chance, fit_colour_probe, fit_count_probe

RESULTS = Path(__file__).parent / "results"


def explore(env, episodes: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Episodes of OU-noise actions (θ = 0.15, σ = 0.3, as `rig run`): per episode its frames, and each scene's
    attribute (puck colour or puck count)."""
    rng = np.random.default_rng(seed)
    noise = OUNoise(2, 0.15, 0.3, rng)
    out, attributes = [], []
    obs, _ = env.reset(seed=seed)
    for e in range(episodes):
        if e:
            obs, _ = env.reset()
        noise.reset()
        frames, done = [obs["image"]], False
        while not done:
            obs, _, terminated, truncated, _ = env.step(np.clip(noise.sample(), -1, 1))
            frames.append(obs["image"])
            done = terminated or truncated
        out.append(np.stack(frames))
        attributes.append(scene_attribute(env))
    return out, np.stack(attributes)


def scene_attribute(env) -> np.ndarray | int:
    """What the probe reads: the colour pusher's puck colour, or the varying pusher's puck count."""
    scene = env.unwrapped
    return scene.puck_rgb if hasattr(scene, "puck_rgb") else scene.n_present


def fill(agent: RIGAgent, episodes: list[np.ndarray]) -> None:
    zero = np.zeros(agent.latent_dim, np.float32)
    for frames in episodes:
        agent.buffer.start_episode(frames[0], zero, zero)
        for frame in frames[1:]:
            agent.buffer.add_step(np.zeros(agent.action_dim, np.float32), zero, frame, zero, zero)


def decode(agent: RIGAgent, z: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return to_uint8(agent.vae.decode(torch.as_tensor(z, device=agent.vae.device)))


def reconstruct(agent: RIGAgent, frames: np.ndarray, contexts: np.ndarray) -> np.ndarray:
    return decode(agent, agent.encode(frames, contexts)[0])


def checkpoint_agent(directory: Path, model: str, env: str) -> tuple[RIGAgent, dict]:
    """The agent a `rig run` checkpoint holds (its VAE is what is measured; the replay is not loaded) and the run's
    saved progress."""
    config = load_config(directory)
    if config.vae.model != model:
        raise SystemExit(f"bench_ccvae_goals: {directory} holds a {config.vae.model!r} VAE, expected {model!r}")
    if config.env != env:
        raise SystemExit(f"bench_ccvae_goals: {directory} is a {config.env!r} run, expected {env!r} (--env)")
    agent = RIGAgent(config)
    skewed = config.goals == "skewfit" and config.skewfit.goal_source == "skewed"
    saved = load_checkpoint(agent, directory, with_replay=skewed)  # p_skewed goals need the run's replay
    if skewed:
        agent.refresh_skew()
    return agent, saved


def imagined_goals(agent: RIGAgent, contexts: np.ndarray, gen: torch.Generator) -> tuple[np.ndarray, str]:
    """Latent goals for each held-out scene as the run proposes them, and a label: the prior (RIG: its fitted prior;
    CC-RIG: N(0, I) with the scene's zc) or, for a Skew-Fit run, p_skewed (CC-RIG: its z_t with the scene's zc)."""
    n = len(contexts)
    if agent.contextual:
        scenes = agent.encode(contexts, contexts)[0]
        if agent.skew is not None:
            return agent.sample_goals(n, scenes), "CC-RIG + Skew-Fit goals (p_skewed z_t, scene's zc)"
        return agent.vae.sample_goals(scenes, gen), "CC-RIG imagined goals (N(0, I), scene's zc)"
    if agent.skew is not None:
        return agent.sample_goals(n), "RIG + Skew-Fit goals (p_skewed replay latents)"
    return agent.vae.sample_prior(n, gen), "RIG imagined goals (fitted β-VAE prior)"


def train_agents(args: argparse.Namespace, episodes: list[np.ndarray], timings: dict[str, float],
                 measure_goals) -> dict[str, RIGAgent]:
    """A RIG and a CC-RIG agent filled with the exploration episodes, their VAEs trained `--batches` batches and
    measured `--checks` times on the way."""
    agents = {}
    for name, model in (("RIG", "vae"), ("CC-RIG", "ccvae")):
        config = default_config(args.env, seed=args.seed, vae={"model": model, "pretrain_batches": args.batches})
        agent = agents[name] = RIGAgent(config)
        fill(agent, episodes)
    done = 0
    for chunk in np.diff(np.linspace(0, args.batches, args.checks + 1).round().astype(int)):
        done += int(chunk)
        for name, agent in agents.items():
            t0 = time.monotonic()
            stats = agent.train_vae_on_replay(int(chunk))
            timings[f"{name}_vae_s"] = timings.get(f"{name}_vae_s", 0.0) + time.monotonic() - t0
            print(f"{name}: {done} batches ({timings[f'{name}_vae_s']:.0f} s), last batch "
                  + " ".join(f"{k}={v:.1f}" for k, v in stats.items()), flush=True)
        measure_goals(agents, done)
    return agents


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=100, help="exploration episodes (100 env steps each)")
    ap.add_argument("--batches", type=int, default=2000, help="VAE training batches (RIG default: 2000)")
    ap.add_argument("--scenes", type=int, default=128, help="held-out scenes (one context each)")
    ap.add_argument("--env", choices=("color_pusher", "varying_pusher"), default="color_pusher",
                    help="color_pusher: the puck colour is measured; varying_pusher: the puck count")
    ap.add_argument("--group", type=int, default=8, help="scenes a goal's colour is compared among")
    ap.add_argument("--probe-batches", type=int, default=800)
    ap.add_argument("--checks", type=int, default=4, help="measurements during VAE training")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--checkpoints", nargs=2, type=Path, metavar=("RIG_DIR", "CC_RIG_DIR"),
                    help="measure these runs' VAEs (checkpoint directories) instead of training two here")
    ap.add_argument("--out", default=str(RESULTS / "ccvae_goals"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    env = sawyer_sim.make(args.env, seed=args.seed)
    episodes, attributes = explore(env, args.episodes, args.seed)
    timings["exploration_s"] = time.monotonic() - t0
    frames = np.concatenate(episodes)
    frame_attributes = np.repeat(attributes, [len(e) for e in episodes], axis=0)

    # the probe, on real exploration frames labelled with their scene's colour or count (it never sees a VAE's output)
    t0 = time.monotonic()
    fit = fit_colour_probe if args.env == "color_pusher" else fit_count_probe
    probe = fit(frames, frame_attributes, args.probe_batches, seed=args.seed)
    timings["probe_s"] = time.monotonic() - t0

    # held-out scenes: first frames and puck attributes from another seed
    held_env = sawyer_sim.make(args.env, seed=args.seed + 1000)
    contexts, scene_attributes = [], []
    for i in range(args.scenes):
        obs, _ = held_env.reset(seed=args.seed + 1000 + i)
        contexts.append(obs["image"])
        scene_attributes.append(scene_attribute(held_env))
    contexts, scene_attributes = np.stack(contexts), np.stack(scene_attributes)
    counting = args.env == "varying_pusher"
    chance = count_chance(scene_attributes) if counting else 1 / args.group
    summary: dict = {"env": args.env, "chance": chance, "args": vars(args), "torch_threads": args.threads, "rates": []}

    def measure(label: str, images: np.ndarray, batches: int) -> None:
        read = probe.predict(images)
        if counting:
            match, what = read == scene_attributes, "count"
            extra = {"read_counts": np.bincount(read, minlength=3).tolist()}
            detail = f"counts read 0/1/2: {'/'.join(map(str, extra['read_counts']))}"
        else:
            match, what = colour_match(read, scene_attributes, args.group), "colour"
            extra = {"mean_colour_error": float(np.linalg.norm(read - scene_attributes, axis=1).mean())}
            detail = f"mean |read - scene colour| {extra['mean_colour_error']:.3f}"
        summary["rates"].append({"what": label, "vae_batches": batches, "match_rate": float(match.mean()),
                                 "n": len(match), **extra})
        print(f"{batches:>6} {label:<42} {what} match {match.mean():.3f} (n={len(match)}, chance {chance:.3f}), "
              f"{detail}", flush=True)

    def measure_goals(agents: dict[str, RIGAgent], done: int) -> None:
        for name in ("CC-RIG", "RIG"):
            goals, label = imagined_goals(agents[name], contexts, gen)
            measure(label, decode(agents[name], goals), done)
        for name, agent in agents.items():
            measure(f"{name} reconstructions of the first frames", reconstruct(agent, contexts, contexts), done)

    measure("real first frames (probe ceiling)", contexts, 0)
    gen = torch.Generator().manual_seed(args.seed)
    if args.checkpoints:
        agents, summary["checkpoints"] = {}, {}
        for (name, model), directory in zip((("RIG", "vae"), ("CC-RIG", "ccvae")), args.checkpoints, strict=True):
            agents[name], saved = checkpoint_agent(directory, model, args.env)
            summary["checkpoints"][name] = {"dir": str(directory), "env_steps": int(saved.get("step", -1))}
        measure_goals(agents, -1)  # -1: the run's own VAE training
    else:
        agents = train_agents(args, episodes, timings, measure_goals)
    summary["timings_s"] = timings
    summary["load_average_at_end"] = os.getloadavg()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(summary, indent=2, default=str))
    figure(contexts[:4], agents["CC-RIG"], agents["RIG"], gen, out.with_suffix(".png"))
    print(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.png')}")


def figure(contexts: np.ndarray, cc: RIGAgent, rig: RIGAgent, gen: torch.Generator, path: Path, per: int = 5) -> None:
    """Per scene: its first frame, CC-RIG's goals for it, RIG's goals (thesis Fig. 11)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, labels = [], ("", "")
    for s0 in contexts:
        (cc_z, cc_label), (rig_z, rig_label) = (imagined_goals(a, np.repeat(s0[None], per, 0), gen) for a in (cc, rig))
        cc_goals, rig_goals, labels = decode(cc, cc_z), decode(rig, rig_z), (cc_label, rig_label)
        gap = np.full_like(s0[:, :6], 255)
        rows.append(np.concatenate([s0, gap, *cc_goals, gap, *rig_goals], 1))
    fig, ax = plt.subplots(figsize=(12, 1.3 * len(rows) + 0.6))
    ax.imshow(np.concatenate(rows, 0), interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(f"scene s0 | {labels[0]} ({per}) | {labels[1]} ({per})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
