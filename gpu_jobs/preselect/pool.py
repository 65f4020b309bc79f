"""`map_batches` arguments of an actor pool that cannot starve its own input.

A fixed pool of `ActorPlan.actors` actors holds every CPU slot of a small cluster (2 actors x 1 CPU on
2 CPUs), and the read tasks that feed it then never get a CPU: the stage waits forever (seen on this
machine). An autoscaling pool (`concurrency=(1, actors)`) starts with one actor, lets the reads run,
and grows up to the plan while there is input and room.
"""
from __future__ import annotations

from gpu_jobs.cluster import ActorPlan


def actor_pool_args(plan: ActorPlan) -> dict:
    args = plan.map_batches_args()
    if plan.actors > 1:
        args["concurrency"] = (1, plan.actors)
    return args
