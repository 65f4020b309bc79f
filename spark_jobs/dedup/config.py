"""Parameters, result and reason names of the dedup job.

Counts in a `DedupResult`: documents_in = kept + exact_removed + near_removed (a document removed
because it is an exact copy counts as exact even when its cluster's representative is a near
duplicate); cross_crawl_removed is the subset of removed documents whose representative is in an
earlier crawl.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from core.dedup.language_words import WORDS_LANGUAGE, WORDS_WHITESPACE
from core.dedup.minhash import MinHashParams

REASON_EXACT = "dedup.exact"
REASON_NEAR = "dedup.near"
VERIFY_METHODS = ("minhash", "exact")
# fineweb: silver's kept documents, whitespace words, every language together (FineWeb dedups its
# English output after the filters). fineweb2: per language and script, before the quality filters,
# words from the language's tokenizer (fineweb-2-pipeline.py step 4; see inputs.py).
PRESETS = ("fineweb", "fineweb2")


@dataclass(frozen=True)
class DedupConfig:
    """Dedup parameters. MinHash defaults are FineWeb's (datatrove `MinhashConfig`, v0.10.1, used by
    `examples/fineweb.py`); FineWeb deduplicated each crawl separately and did no verification."""

    num_bands: int = 14  # FineWeb: MinhashConfig.num_buckets = 14
    rows_per_band: int = 8  # FineWeb: MinhashConfig.hashes_per_bucket = 8
    ngram: int = 5  # FineWeb: MinhashConfig.n_grams = 5
    seed: int = 1  # FineWeb: MinhashConfig.seed = 1
    # Verify LSH edges against this Jaccard threshold (None: off, as in FineWeb, which removes whatever
    # LSH proposes, i.e. pairs at J = 0.7 with probability 0.56). 0.85 with the exact method makes the
    # claim "duplicates are pairs with word 5-gram Jaccard >= 0.85" true. With "minhash" use about 0.75:
    # the estimate's sd near 0.85 is 0.034 with 112 values, so a cut at 0.85 would lose half the pairs
    # at J = 0.85.
    verify_threshold: float | None = 0.85
    # How verification measures similarity: "minhash" (the estimate from the signatures) or "exact"
    # (exact Jaccard of word n-grams from the texts, so a hard cut such as 0.85 is exact). With
    # "exact", buckets of up to `pair_bucket_max` members are linked pairwise instead of as a star
    # (also when verify_threshold is None: the pairs table then still gets exact similarities):
    # a star links two members only through the bucket's smallest one, and an exact cut that drops
    # the hub's edge to one end (a third copy below the threshold) would lose a true pair.
    # Benchmark corpus (bench/bench_dedup.py, 19,996 documents): exact @ 0.85 precision 1.0 and recall
    # 1.0 on J >= 0.85 pairs in 27.9 s; minhash @ 0.75 precision 0.787 (J < 0.85 counted false), recall
    # 1.0, 28.0 s. Exact reads the edge ends' shingle sets, stored with their crawl's signatures.
    verify_method: str = "exact"
    pair_bucket_max: int = 20  # "exact" only: larger buckets keep star edges (O(n) per bucket)
    exact: bool = True  # exact dedup on xxh3-128 of the normalized text
    near: bool = True  # MinHash LSH near dedup
    cross_crawl: bool = True  # against the signatures of every earlier crawl in the lake
    partitions: int | None = None  # tasks for the signature step (default: 2 x default parallelism)
    preset: str = "fineweb"  # PRESETS; FineWeb2: MinhashDedupSignature(language=lang_script) before filtering

    def __post_init__(self):
        if self.verify_threshold is not None and not 0.0 <= self.verify_threshold <= 1.0:
            raise ValueError(f"verify_threshold must be in [0, 1] or None, got {self.verify_threshold}")
        if self.pair_bucket_max < 2:
            raise ValueError(f"pair_bucket_max must be at least 2, got {self.pair_bucket_max}")
        if self.verify_method not in VERIFY_METHODS:
            raise ValueError(f"verify_method must be one of {VERIFY_METHODS}, got {self.verify_method!r}")
        if self.preset not in PRESETS:
            raise ValueError(f"preset must be one of {PRESETS}, got {self.preset!r}")

    @property
    def per_language(self) -> bool:
        """Clusters within one language and script, words from its tokenizer, before the quality
        filters (the fineweb2 preset)."""
        return self.preset == "fineweb2"

    @property
    def minhash(self) -> MinHashParams:
        words = WORDS_LANGUAGE if self.per_language else WORDS_WHITESPACE
        return MinHashParams(self.num_bands, self.rows_per_band, self.ngram, self.seed, words)

    @property
    def params_tag(self) -> str:
        """Identifies signatures that are comparable: the same tag means the same permutations and
        the same words (`-wlang`: split by each language's tokenizer, so not comparable with FineWeb's)."""
        words = "-wlang" if self.per_language else ""
        return f"b{self.num_bands}r{self.rows_per_band}n{self.ngram}s{self.seed}{words}"


@dataclass
class DedupResult:
    snapshot: str
    documents_in: int
    exact_removed: int
    near_removed: int
    kept: int
    clusters: int  # duplicate clusters touching this crawl (>= 2 members, or an earlier representative)
    cross_crawl_removed: int
    seconds: float
    # distinct LSH candidate edges: pairwise in buckets of <= pair_bucket_max members ("exact"
    # verification), else a star from the bucket's smallest member
    candidate_edges: int = 0
    verified_edges: int = 0  # of which passed verification (== candidate_edges when it is off)
    earlier_crawls: list[str] = field(default_factory=list)
    earlier_without_signatures: list[str] = field(default_factory=list)
    cluster_sizes: dict[str, int] = field(default_factory=dict)  # size bin -> clusters (this crawl's members)
    removed_by: dict[str, int] = field(default_factory=dict)  # "dedup.exact", "dedup.near.cross_crawl", ...
    kept_by_language: dict[str, int] = field(default_factory=dict)  # `fra_Latn` (or `fr`, `unknown`) -> kept
    removed_by_language: dict[str, int] = field(default_factory=dict)  # same keys -> duplicates removed
    # fineweb2 (before filtering): documents rejected by a quality filter that were deduplicated with
    # the kept ones (counted in cluster sizes), and kept documents removed because their cluster's
    # survivor is such a document (FineWeb2 filters the survivor after dedup, so the cluster is lost)
    filtered_inputs: int = 0
    removed_for_filtered_survivor: int = 0
    @property
    def removed(self) -> int:
        return self.exact_removed + self.near_removed
