"""The Ray cluster (a local instance by default, RAY_ADDRESS for a cluster)."""
from __future__ import annotations

import os

from dagster import ConfigurableResource
from pydantic import Field


class RayResource(ConfigurableResource):
    """A Ray cluster: a local instance by default, RAY_ADDRESS or `address` for a cluster."""

    address: str | None = Field(default=None, description="Ray address; RAY_ADDRESS when unset.")
    num_cpus: int | None = Field(default=None, description="CPUs for a local instance.")

    def init(self):
        import ray

        if not ray.is_initialized():
            address = self.address or os.environ.get("RAY_ADDRESS")
            if address:
                ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
            else:
                ray.init(num_cpus=self.num_cpus, include_dashboard=False,
                         ignore_reinit_error=True, log_to_driver=False)
        return ray
