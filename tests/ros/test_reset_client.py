"""ResetClient: the episode and demo nodes reset through rig_interfaces/srv/Reset (sim) or std_srvs/srv/Trigger
(the arm driver, over ros1_bridge), over real DDS."""

from __future__ import annotations

import pytest
from std_srvs.srv import Trigger

from rig_interfaces.srv import Reset
from rig_policy.reset_client import ResetClient


def call(probe, client: ResetClient, seed: int):
    probe.wait_for(client.service_is_ready, 10.0, "the reset service")
    future = client.call_async(seed)
    probe.wait_for(future.done, 10.0, "the reset answer")
    return client.answer(future)


def test_trigger_reset_as_the_arm_driver_serves_it(probe):
    calls = []

    def serve(_req, res):
        calls.append(1)
        res.success, res.message = True, "reset done: tip 0.4 mm from the start pose"
        return res

    probe.node.create_service(Trigger, "/robot/reset", serve)
    before = probe.node.get_clock().now().nanoseconds
    answer = call(probe, ResetClient(probe.node, "/robot/reset", "trigger"), seed=3)
    assert calls == [1]
    assert answer.success and "start pose" in answer.message
    assert answer.stamp.sec * 10**9 + answer.stamp.nanosec >= before  # stamped when the answer came


def test_rig_reset_passes_the_seed_and_the_sims_stamp(probe):
    seeds = []

    def serve(req, res):
        seeds.append(req.seed)
        res.success, res.stamp.sec = True, 42
        return res

    probe.node.create_service(Reset, "/sim/reset", serve)
    answer = call(probe, ResetClient(probe.node, "/sim/reset", "rig"), seed=7)
    assert seeds == [7] and answer.success and answer.stamp.sec == 42


def test_unknown_reset_type_is_refused(probe):
    with pytest.raises(RuntimeError, match="reset_type"):
        ResetClient(probe.node, "/robot/reset", "custom")
