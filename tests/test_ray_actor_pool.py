"""gpu_jobs.actor_pool: a plain actor pool over a list of items (results in item order, one
constructor call per actor, an item's error raised at once)."""
from __future__ import annotations

import os

import pytest

from gpu_jobs.actor_pool import map_on_actor_pool
from gpu_jobs.cluster import RESTARTS, ActorPlan


class _Squarer:
    def __init__(self, offset: int):
        self.offset, self.pid = offset, os.getpid()

    def square(self, x: int) -> tuple[int, int]:
        if x < 0:
            raise ValueError(f"negative item {x}")
        return x * x + self.offset, self.pid


def test_every_item_once_in_item_order_on_at_most_the_planned_actors(ray_session):
    refs = map_on_actor_pool(_Squarer, (1,), "square", list(range(12)), ActorPlan(2, 0.5, 0.0))
    results = ray_session.get(refs)
    assert [r[0] for r in results] == [x * x + 1 for x in range(12)]
    assert len({pid for _, pid in results}) <= 2
    one = ray_session.get(map_on_actor_pool(_Squarer, (0,), "square", [3], ActorPlan(4, 0.5, 0.0)))
    assert [r[0] for r in one] == [9]  # fewer items than actors
    assert map_on_actor_pool(_Squarer, (0,), "square", [], ActorPlan(2, 0.5, 0.0)) == []


def test_an_error_in_an_item_fails_the_pool_at_once(ray_session):
    with pytest.raises(Exception, match="negative item -1"):
        map_on_actor_pool(_Squarer, (0,), "square", [1, 2, -1, 4], ActorPlan(1, 0.5, 0.0))


def test_actor_options_ask_for_a_gpu_only_when_planned():
    assert ActorPlan(2, 0.5, 0.0).actor_options() == {"num_cpus": 0.5, "max_restarts": RESTARTS,
                                                      "max_task_retries": RESTARTS}
    assert ActorPlan(1, 1.0, 1.0).actor_options()["num_gpus"] == 1.0
