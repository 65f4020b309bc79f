"""Engine-free logic shared by the Spark and Ray stages.

WARC reading and writing, HTML to text, the quality filters, dedup's normalization and MinHash, and
(later) scoring, refining and shard formats. Nothing here imports pyspark, ray or dagster: a test
imports every module of this package with those imports blocked.
"""
