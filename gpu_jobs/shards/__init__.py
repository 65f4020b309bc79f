"""The `training_shards` stage on Ray: mixing and tokenization in an actor pool over Arrow batches,
a training plan on the driver, Megatron shards written in parallel (one task per shard), the
`shards/documents` and `shards/manifest` Delta tables committed last; checks that read the shards
back, and the combination of several crawls' shards into one Megatron blend.

- config.py: ShardStageConfig;
- inputs.py: which tables the configuration needs, and clear errors when they are missing;
- tokenize.py: the actor (join by doc_id, mix, tokenize) and its pure batch function;
- write.py: a shard assembled from the tokenized blocks and written by one task;
- tables.py: the manifest and documents tables;
- stage.py: run_training_shards, the driver;
- checks.py: manifest tokens == .idx sums, files (packed ones too) == sha256, copies == mixing,
  schemas == contract, unique doc_id;
- combine.py: manifests of several crawls -> data_args.txt + blend.json.
"""
