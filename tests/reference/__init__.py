"""Reference code for tests and benchmarks, not pipeline code: small pure-Python models of what the
pipeline computes at scale (`components`: LSH pairs, verification and union-find clusters;
`lsh_theory`: the LSH S-curve). The pipeline never imports this package; its own code lives in core/
and spark_jobs/."""
