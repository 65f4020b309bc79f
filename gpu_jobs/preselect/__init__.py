"""PreSelect on Ray: the `preselect_model` training stage and the `quality_scores` scoring stage.

- `model_store`: where classifiers live under the lake root (`models/preselect/<id>/`, `latest.json`).
- `sample`: a seeded sample of a crawl's dedup documents.
- `bpc`: the reference family in an actor pool, bits per character per model.
- `training`: sample -> BPC -> one Ray task that trains (core.preselect.train) and publishes.
- `scoring`: fastText scoring in an actor pool, selection, one Delta commit of `scores/preselect`.
- `selection`: score summaries and the character-share cut over a whole partition.
- `checks`: what the asset checks read back after the commit.
- `pool`: actor-pool arguments that cannot starve their own input.

The text logic is engine-free in `core.preselect`; this package only distributes it.
"""
