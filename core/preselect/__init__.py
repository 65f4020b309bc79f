"""PreSelect (Shum et al. 2025, "Predictive Data Selection", arXiv 2503.00808), engine-free.

Pipeline of the method, one module per step:
- `reference_models`: load causal LMs from local paths (never a hub), pick the device, build a
  "layer-removed" family of ranked reference models from one checkpoint.
- `bpc`: bits per character of documents under each reference model (sliding window as released).
- `strength`: predictive strength of a document from its per-model losses (paper eq. 1).
- `labels`: balanced fastText training labels (S = 1 positives, lowest-S negatives).
- `fasttext_text`: the one text preprocessing shared by training and scoring.
- `train`: fastText training with the paper's settings and the `</s>` row zeroed.
- `select`: scoring with any fastText classifier and selection by character share or threshold.

Model loading is kept apart from computation so a Ray actor loads once and scores many batches.
Nothing here imports pyspark, ray or dagster; torch and transformers are imported only by
`reference_models` and `bpc`.
"""
