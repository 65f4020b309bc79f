"""Thin Dagster assets, one module per stage; `ASSET_MODULES` lists them in pipeline order."""
from assets import dedup, ingest, shards, silver

ASSET_MODULES = [ingest, silver, dedup, shards]
