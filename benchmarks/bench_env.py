"""Env steps/s of the sawyer_sim envs at 48x48 (one render per step): the default (decimated meshes, geoms the
camera never sees not rendered) vs decimated only vs full meshes.

Run: .venv/bin/python benchmarks/bench_env.py [--steps N] [--size S] [--envs door pickup] [--fast-only]
     [--control driver]   (the hand moved through the arm driver's controller; reacher and the pushers)
Wall-clock rates depend on other load on the machine; "cpu ms/step" is this process's CPU time per step
(steps and resets; render and physics columns are timed separately).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("MUJOCO_GL", "egl")

import mujoco
import numpy as np

import sawyer_sim


def bench(name: str, keep: float | None, hide: bool, steps: int, size: int, control: str = "mocap") -> dict[str, float]:
    """Steps/s over ``steps`` random-action steps (resets included), plus per-step render and physics cost."""
    t0 = time.perf_counter()
    env = sawyer_sim.make(name, image_size=size, seed=0, mesh_keep=keep, hide_unseen=hide, control=control)
    build = time.perf_counter() - t0
    env.reset()
    actions = np.random.default_rng(0).uniform(-1, 1, (steps, env.action_space.shape[0])).astype(np.float32)
    for a in actions[:20]:  # warm-up
        env.step(a)
    t0, c0 = time.perf_counter(), time.process_time()
    for a in actions:
        if env.step(a)[3]:
            env.reset()
    rate = steps / (time.perf_counter() - t0)
    cpu_ms = (time.process_time() - c0) / steps * 1e3  # all threads (llvmpipe renders with several)
    u = env.unwrapped
    t0 = time.perf_counter()
    for _ in range(200):
        u._renderer.update_scene(u.data, "view")
        u._renderer.render(out=u._frame)
    render_ms = (time.perf_counter() - t0) / 200 * 1e3
    t0 = time.perf_counter()
    for _ in range(200):
        mujoco.mj_step(u.model, u.data, nstep=u.frame_skip)
    physics_ms = (time.perf_counter() - t0) / 200 * 1e3
    env.close()
    return {"steps/s": rate, "cpu ms/step": cpu_ms, "render ms": render_ms, "physics ms": physics_ms, "build s": build}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--size", type=int, default=48)
    ap.add_argument("--envs", nargs="+", default=list(sawyer_sim.ENV_NAMES), choices=sawyer_sim.ENV_NAMES)
    ap.add_argument("--fast-only", action="store_true", help="only the default (fast) configuration")
    ap.add_argument("--control", choices=("mocap", "driver"), default="mocap", help="how the hand moves (env control)")
    args = ap.parse_args()
    print(f"sawyer_sim env speed, {args.size}x{args.size} images, {args.steps} steps, control {args.control}, "
          f"MUJOCO_GL={os.environ['MUJOCO_GL']}")
    print(f"{'env':<14}{'meshes':<30}{'steps/s':>9}{'cpu ms/step':>13}{'render ms':>11}{'physics ms':>12}{'build s':>9}")
    configs = ((0.1, True, "decimated 10%, unseen hidden"), (0.1, False, "decimated 10%"), (None, False, "full"))
    for name in args.envs:
        for keep, hide, label in configs[:1] if args.fast_only else configs:
            r = bench(name, keep, hide, args.steps, args.size, args.control)
            widths = {"steps/s": (9, 0), "cpu ms/step": (13, 2), "render ms": (11, 2), "physics ms": (12, 2), "build s": (9, 2)}
            cols = "".join(f"{r[k]:>{w}.{p}f}" for k, (w, p) in widths.items())
            print(f"{name:<14}{label:<30}{cols}")


if __name__ == "__main__":
    main()
