"""Final distances on `rig run`'s held-out goals when the arm never moves (zero actions): every object stays where
it starts, the floor a policy that pushes nothing gets on the object distances.

    .venv/bin/python benchmarks/still_arm_baseline.py --env varying_pusher
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np

import sawyer_sim
from rig_core.config import default_config
from rig_core.evaluate import evaluate, make_goal_set


def still_arm(env_name: str) -> dict[str, float]:
    """Mean final distances over the default config's held-out goals (eval_goals, eval_seed) with zero actions."""
    config = default_config(env_name)
    env = sawyer_sim.make(env_name)
    goals = make_goal_set(env, config.eval_goals, config.eval_seed)
    action_dim = int(env.action_space.shape[0])
    result = evaluate(env, goals, lambda _z, _g: np.zeros(action_dim, np.float32),
                      lambda frames: np.zeros((len(frames), 1), np.float32), seed=config.eval_seed)
    return result.final


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="varying_pusher")
    args = parser.parse_args()
    print(json.dumps({"env": args.env, "still_arm": still_arm(args.env)}))


if __name__ == "__main__":
    main()
