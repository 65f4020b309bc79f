"""What the Ray cluster offers, and how a model stage asks for it.

A model stage runs as an actor pool over Arrow batches (`Dataset.map_batches` with a callable class,
one model load per actor). It asks for a GPU per actor only when the cluster has GPUs, so the same
code runs on a laptop, a CPU cluster and a GPU cluster and never waits for a GPU that does not exist.
"""
from __future__ import annotations

from dataclasses import dataclass

# How often Ray restarts a model actor whose process died (SIGKILL, the OOM killer, a lost node)
# and retries its batch there. Ray Data's default is forever (-1): a batch that kills its actor
# every time would hang the stage; past this many restarts the stage fails and commits nothing.
RESTARTS = 2


def cluster_gpus() -> float:
    """GPUs in the connected Ray cluster (0 when none, or when Ray is not initialized)."""
    import ray

    if not ray.is_initialized():
        return 0.0
    return float(ray.cluster_resources().get("GPU", 0.0))


def cluster_cpus() -> float:
    import ray

    if not ray.is_initialized():
        return 0.0
    return float(ray.cluster_resources().get("CPU", 0.0))


@dataclass(frozen=True)
class ActorPlan:
    """How many actors of a model stage, and what each asks Ray for."""

    actors: int
    num_cpus: float
    num_gpus: float

    @property
    def device(self) -> str:
        return "cuda" if self.num_gpus > 0 else "cpu"

    def map_batches_args(self) -> dict:
        """Keyword arguments for `Dataset.map_batches` with a callable class."""
        args = {"concurrency": self.actors, "num_cpus": self.num_cpus,
                "max_restarts": RESTARTS, "max_task_retries": RESTARTS}
        if self.num_gpus > 0:
            args["num_gpus"] = self.num_gpus
        return args

    def actor_options(self) -> dict:
        """Options for `ray.remote(cls).options(...)` of a plain actor pool (`gpu_jobs.actor_pool`):
        the same resources and restart limits as `map_batches_args`."""
        options = {"num_cpus": self.num_cpus, "max_restarts": RESTARTS, "max_task_retries": RESTARTS}
        if self.num_gpus > 0:
            options["num_gpus"] = self.num_gpus
        return options


def plan_actors(use_gpu: str = "auto", max_actors: int | None = None, cpus_per_actor: float = 1.0,
                gpus: float | None = None, cpus: float | None = None) -> ActorPlan:
    """Actors for a model stage: one per GPU when the cluster has GPUs and `use_gpu` allows it,
    else one per `cpus_per_actor` CPUs; at most `max_actors`.

    `use_gpu`: "auto" (GPU when present), "never", or "always" (an error when the cluster has none,
    instead of a run that waits forever for a GPU).
    """
    if use_gpu not in ("auto", "never", "always"):
        raise ValueError(f"use_gpu must be auto, never or always, got {use_gpu!r}")
    gpus = cluster_gpus() if gpus is None else gpus
    cpus = cluster_cpus() if cpus is None else cpus
    if use_gpu == "always" and gpus < 1:
        raise RuntimeError("use_gpu='always' but the Ray cluster has no GPU "
                           "(set use_gpu='auto' to run on CPUs)")
    if gpus >= 1 and use_gpu != "never":
        actors = int(gpus)
        plan = ActorPlan(actors, cpus_per_actor, 1.0)
    else:
        actors = max(1, int(cpus // cpus_per_actor)) if cpus else 1
        plan = ActorPlan(actors, cpus_per_actor, 0.0)
    if max_actors is not None:
        plan = ActorPlan(max(1, min(plan.actors, max_actors)), plan.num_cpus, plan.num_gpus)
    return plan


READ_RESERVE_CPUS = 1.0  # Ray Data's file listing and Parquet read tasks ask for a whole CPU each


def leave_cpus_for_reads(plan: ActorPlan, cpus: float | None = None,
                         reserve: float = READ_RESERVE_CPUS) -> ActorPlan:
    """The plan with each CPU actor asking Ray for a bit less, so `reserve` CPUs stay free for the
    read tasks that feed the pool: a pool holding every CPU waits for its input forever (seen with
    Ray 2.60 on 2 CPUs and on a 1-CPU cluster). The actors still use a core each; Ray's CPU counts
    are scheduling units. GPU actors are left as they are."""
    cpus = cluster_cpus() if cpus is None else cpus
    if plan.num_gpus > 0 or not cpus:
        return plan
    per_actor = min(plan.num_cpus, max(0.0, (cpus - reserve) / plan.actors))
    return ActorPlan(plan.actors, per_actor, plan.num_gpus)


def s3_task_options(*uris: str) -> dict:
    """Ray remote options for tasks and actors that open `uris` themselves (a shard writer, a
    classifier download): when one is on S3, the driver's AWS variables as their runtime_env, so
    they reach the store the driver's run names even when the workers started without them (a Ray
    instance started before the variables were set, a cluster whose workers lack them), as the
    Delta reads and writes do with the filesystem built on the driver. Else no options."""
    from core.io.object_store import aws_variables, is_s3_uri

    variables = aws_variables()
    if not variables or not any(is_s3_uri(uri) for uri in uris):
        return {}
    return {"runtime_env": {"env_vars": variables}}
