"""REFERENCE CODE, not pipeline code: LSH banding theory (the detection S-curve, its threshold, and
empirical S-curves with binomial confidence), to check an implementation against the theory in tests
and benchmarks. The pipeline computes no S-curve: it bands signatures with `core.dedup.minhash`
(`band_hashes`, `signature_columns`) and links the buckets in `spark_jobs.dedup.candidates`.

With b bands of r rows, a pair whose MinHash collision probability is s (= its Jaccard similarity for
ideal min-wise permutations) shares at least one band with probability 1 - (1 - s^r)^b.
FineWeb (b=14, r=8): 0.56, 0.77, 0.92, 0.988 at s = 0.70, 0.75, 0.80, 0.85.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def detection_probability(s, num_bands: int = 14, rows_per_band: int = 8):
    """P(a pair of Jaccard s shares >= 1 band) = 1 - (1 - s^r)^b; scalar or array."""
    s = np.clip(np.asarray(s, dtype=float), 0.0, 1.0)
    p = 1.0 - (1.0 - s**rows_per_band) ** num_bands
    return float(p) if p.ndim == 0 else p


def threshold(num_bands: int = 14, rows_per_band: int = 8) -> float:
    """The usual approximation of where the S-curve is steepest: (1/b)^(1/r) (0.719 for 14 x 8)."""
    return (1.0 / num_bands) ** (1.0 / rows_per_band)


def wilson_interval(successes: int, n: int, z: float = 3.29) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (z = 3.29: 99.9% two-sided); (0, 1) when n = 0."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


@dataclass(frozen=True)
class SCurveBin:
    lo: float
    hi: float
    n: int  # pairs in the bin
    detected: int
    rate: float  # detected / n (nan when n == 0)
    expected: float  # expected detections: sum of theory probabilities of the pairs in the bin
    sd: float  # sd of the detection count if the theory holds (Poisson-binomial)
    z: float  # (detected - expected) / sd (0 when sd == 0 and detected == expected)
    ci_lo: float  # Wilson interval of the rate
    ci_hi: float


def empirical_s_curve(
    jaccard,
    detected,
    bins=np.linspace(0.0, 1.0, 21),
    num_bands: int = 14,
    rows_per_band: int = 8,
    z: float = 3.29,
) -> list[SCurveBin]:
    """Bin pairs by true Jaccard and compare the detection rate with the theory.

    The expected count in a bin is the sum of each pair's own theoretical probability (not the
    probability at the bin centre, which is biased where the curve bends); its sd is that of a
    Poisson-binomial, sqrt(sum p(1-p)). The last bin is closed on the right (includes s = 1)."""
    j = np.asarray(jaccard, dtype=float)
    det = np.asarray(detected, dtype=bool)
    p = detection_probability(j, num_bands, rows_per_band)
    out = []
    edges = np.asarray(bins, dtype=float)
    for k in range(len(edges) - 1):
        lo, hi = edges[k], edges[k + 1]
        m = (j >= lo) & ((j < hi) if k < len(edges) - 2 else (j <= hi))
        n, d = int(m.sum()), int(det[m].sum())
        expected = float(np.sum(p[m]))
        sd = float(np.sqrt(np.sum(p[m] * (1 - p[m]))))
        zz = (d - expected) / sd if sd > 0 else (0.0 if abs(d - expected) < 1e-9 else np.inf)
        ci = wilson_interval(d, n, z)
        out.append(SCurveBin(lo, hi, n, d, d / n if n else float("nan"), expected, sd, float(zz), *ci))
    return out


def format_s_curve(bins: list[SCurveBin]) -> str:
    """A markdown table of an empirical S-curve (for logs and asset metadata)."""
    rows = ["| Jaccard | pairs | detected | rate | theory | z |", "|---|---|---|---|---|---|"]
    for b in bins:
        if b.n:
            rows.append(
                f"| {b.lo:.2f}-{b.hi:.2f} | {b.n} | {b.detected} | {b.rate:.3f} | "
                f"{b.expected / b.n:.3f} | {b.z:+.2f} |"
            )
    return "\n".join(rows)
