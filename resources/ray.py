"""The Ray cluster (a local instance by default, RAY_ADDRESS for a cluster)."""
from __future__ import annotations

from typing import Optional

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr


class RayResource(ConfigurableResource):
    """Ray for a run: initialized in setup, shut down in teardown only if this resource started it.

    A Ray instance already initialized in the process (a test's, a notebook's) is used as it is and
    left running. Otherwise `address` (RAY_ADDRESS through the Definitions) connects to a cluster,
    and without one a local instance with `num_cpus` CPUs is started.
    """

    address: Optional[str] = Field(
        default=None, description="Ray cluster address (ray://host:10001, auto); RAY_ADDRESS when "
                                  "set, else a local instance.")
    num_cpus: Optional[int] = Field(default=None, description="CPUs for a local instance.")

    _started: bool = PrivateAttr(default=False)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        import ray

        if ray.is_initialized():
            self._started = False
            return
        if self.address:
            ray.init(address=self.address, log_to_driver=False)
            what = f"connected to {self.address}"
        else:
            ray.init(num_cpus=self.num_cpus, include_dashboard=False, log_to_driver=False)
            what = "started a local instance"
        self._started = True
        if context.log is not None:
            cpus = ray.cluster_resources().get("CPU", 0)
            context.log.info(f"ray: {what} ({cpus:g} CPUs, {len(ray.nodes())} node(s))")

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        import ray

        if self._started:
            self._started = False
            ray.shutdown()

    @property
    def ray(self):
        """The `ray` module, initialized (only inside a Dagster run, after setup)."""
        import ray

        if not ray.is_initialized():
            raise RuntimeError("Ray is not initialized: RayResource initializes it when a Dagster "
                               "run sets the resource up")
        return ray
