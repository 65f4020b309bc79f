"""What every SILVER filter returns: a decision, a stable reason and the features it computed."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FilterResult:
    keep: bool
    reason: str | None = None  # "<filter>.<rule>" when dropped, None when kept
    stats: dict = field(default_factory=dict)  # "<filter>.<feature>" -> number
    text: str | None = None  # set only by filters that rewrite the text (C4 line removal, PII)


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, 0.0 when the denominator is 0 (every ratio guards its denominator)."""
    return numerator / denominator if denominator else 0.0
