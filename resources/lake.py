"""The lake root: where every Delta table lives (a local directory or any URI)."""
from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from contract.tables import table_uri


def _is_uri(value: str) -> bool:
    return "://" in value


class LakeResource(ConfigurableResource):
    """Where the Delta tables live: a local directory or any URI Spark and delta-rs understand."""

    root: str = Field(
        default="lake",
        description="Lake root: ./lake by default (REFINERY_LAKE_ROOT through the Definitions), "
                    "or s3a://, abfss://, gs:// in production.",
    )

    @property
    def uri(self) -> str:
        return self.root if _is_uri(self.root) else str(Path(self.root).resolve())

    def table(self, name: str) -> str:
        return table_uri(self.uri, name)
