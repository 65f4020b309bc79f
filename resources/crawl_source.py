"""Where crawl listings and files come from (Common Crawl over HTTPS, S3 or a local mirror)."""
from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field

from contract.tables import SAMPLE_CRAWL_ID
from core.io.listing import COMMON_CRAWL_HTTPS
from core.io.preflight import check_source_readable


def _is_uri(value: str) -> bool:
    return "://" in value


class CrawlSourceResource(ConfigurableResource):
    """Where crawl listings and files come from.

    `base_uri` is Common Crawl's HTTPS host by default; `s3://commoncrawl/` or a local mirror
    directory in Common Crawl's layout (`crawl-data/<crawl>/warc.paths.gz`) work the same way. The
    embedded sample crawl is always read from a mirror the project builds under `sample_dir`.
    """

    base_uri: str = Field(
        default=COMMON_CRAWL_HTTPS,
        description="Common Crawl base: https://data.commoncrawl.org/, s3://commoncrawl/ or a dir "
                    "(REFINERY_CC_BASE through the Definitions).",
    )
    sample_dir: str = Field(
        default=".sample-crawl",
        description="Where the embedded sample crawl is built, deterministic, a few MB "
                    "(REFINERY_SAMPLE_DIR through the Definitions).",
    )

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Before any asset of the run reads: an S3 base must be listable (else a clear error
        naming the base: wrong key, missing bucket, endpoint down)."""
        check_source_readable(self.base_uri)

    def base_for(self, crawl_id: str) -> str:
        if crawl_id == SAMPLE_CRAWL_ID:
            from sample_crawl import build_sample_mirror

            return str(build_sample_mirror(Path(self.sample_dir).resolve()))
        base = self.base_uri
        return base if _is_uri(base) else str(Path(base).resolve())
