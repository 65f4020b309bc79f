"""What a `refined_documents` run does: backend, refinement steps, which documents enter, actors."""
from __future__ import annotations

from dataclasses import dataclass, field

from core.prox.backends.spec import BackendSpec
from core.prox.refine import RefinementParams

ALL = "all"
SELECTED = "selected"
ENTERING = (ALL, SELECTED)
USE_GPU = ("auto", "never", "always")


@dataclass(frozen=True)
class RefinementStageConfig:
    backend: BackendSpec = field(default_factory=BackendSpec)
    refinement: RefinementParams = field(default_factory=RefinementParams)
    entering: str = ALL  # every document of dedup/documents, or only PreSelect's selected ones
    batch_size: int = 64  # documents per actor call (ours)
    use_gpu: str = "auto"  # auto: a GPU per actor when the cluster has GPUs
    max_actors: int | None = None  # None: one per GPU, or one per CPU but one (left for reads and writes)
    cpus_per_actor: float = 1.0
    # ProX reports < 0.5% failed programs; 5% leaves room for another model or crawl (ours)
    max_error_rate: float = 0.05

    def __post_init__(self):
        if self.entering not in ENTERING:
            raise ValueError(f"entering must be one of {ENTERING}, got {self.entering!r}")
        if self.use_gpu not in USE_GPU:
            raise ValueError(f"use_gpu must be one of {USE_GPU}, got {self.use_gpu!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.max_actors is not None and self.max_actors < 1:
            raise ValueError(f"max_actors must be >= 1, got {self.max_actors}")
        if not 0.0 <= self.max_error_rate <= 1.0:
            raise ValueError(f"max_error_rate must be in [0, 1], got {self.max_error_rate}")
