"""Resources: the lake root, the crawl source and the Ray resource's local default."""
from __future__ import annotations

from pathlib import Path

from resources import CrawlSourceResource, LakeResource, RayResource


def test_lake_root_resolves_local_paths_and_keeps_uris(tmp_path):
    assert LakeResource(root=str(tmp_path)).table("bronze/documents") == f"{tmp_path}/bronze/documents"
    assert LakeResource(root="s3a://bucket/lake/").table("manifest") == "s3a://bucket/lake/manifest"
    assert Path(LakeResource(root="lake").uri).is_absolute()


def test_crawl_source_builds_the_sample_mirror_and_passes_real_bases_through(tmp_path):
    source = CrawlSourceResource(base_uri="https://data.commoncrawl.org/",
                                 sample_dir=str(tmp_path / "sample"))
    assert source.base_for("CC-MAIN-2024-33") == "https://data.commoncrawl.org/"
    sample = Path(source.base_for("CC-MAIN-SAMPLE"))
    assert (sample / "crawl-data" / "CC-MAIN-SAMPLE" / "warc.paths.gz").exists()


def test_ray_resource_starts_a_local_instance_without_gpus():
    ray = RayResource(num_cpus=1).init()
    try:
        @ray.remote
        def square(x):
            return x * x

        assert ray.get([square.remote(i) for i in range(4)]) == [0, 1, 4, 9]
        assert ray.cluster_resources().get("GPU", 0) == 0
    finally:
        ray.shutdown()
