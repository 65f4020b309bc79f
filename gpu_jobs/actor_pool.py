"""A plain Ray actor pool: a few stateful actors (one model load each) work through a list of items.

For a stage whose items are few and heavy (a Parquet row group to score), Ray Data's
`map_batches` adds its own machinery on top of the actors: a streaming executor polling on the
driver, stats and autoscaling actors, an object-store hop for every input block. On one core that
machinery competed with the scoring actor for ~30% of the stage's CPU time (BENCHMARKS.md). Here
the driver submits one item per idle actor and blocks in `ray.wait`; results stay in the object
store, one ObjectRef per item, in item order.

Failure handling is Ray core's, as `map_batches` configures it (`ActorPlan.actor_options`): an
actor whose process dies is restarted at most `cluster.RESTARTS` times and its item retried there;
an exception raised by the actor's method fails the pool at once (no retry), and every actor of
the pool is killed before the error propagates.
"""
from __future__ import annotations

from collections import deque
from typing import Any, Sequence

from gpu_jobs.cluster import ActorPlan


def map_on_actor_pool(actor_class: type, constructor_args: tuple, method: str, items: Sequence[Any],
                      plan: ActorPlan, options: dict | None = None) -> list:
    """ObjectRefs of `actor.<method>(item)` for every item, in item order, computed by at most
    `plan.actors` actors of `actor_class(*constructor_args)` (fewer when there are fewer items);
    `options` are more Ray actor options (a runtime_env, say)."""
    import ray

    if not items:
        return []
    remote_class = ray.remote(actor_class).options(**plan.actor_options(), **(options or {}))
    actors = [remote_class.remote(*constructor_args) for _ in range(min(plan.actors, len(items)))]
    try:
        return _dispatch(actors, method, items)
    finally:
        for actor in actors:
            ray.kill(actor, no_restart=True)


def _dispatch(actors: list, method: str, items: Sequence[Any]) -> list:
    import ray

    results: list = [None] * len(items)
    todo = deque(range(len(items)))
    idle = deque(actors)
    running: dict = {}  # ObjectRef -> (actor, item index)
    while todo or running:
        while idle and todo:
            actor, index = idle.popleft(), todo.popleft()
            running[getattr(actor, method).remote(items[index])] = (actor, index)
        [done], _ = ray.wait(list(running), num_returns=1)
        actor, index = running.pop(done)
        ray.get(done)  # raises the actor's error (or its death after the restarts) here, at once
        results[index] = done
        idle.append(actor)
    return results
