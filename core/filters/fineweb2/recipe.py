"""FineWeb2's recipe as a list of steps, in `fineweb-2-pipeline.py`'s order.

URL filter (FineWeb's first pipeline, whose non-English output FineWeb2 starts from) → GlotLID
language and script with the per-language threshold → GopherRepetition → FineWebQuality →
GopherQuality (note: FineWeb quality before Gopher quality, and no C4 filter) → precision filter
(`misc/precision_filtering`, run on the filtered output) → FTFY → PII → table-line fix.
FineWeb2 deduplicates each language between the language threshold and the quality filters; here
deduplication is the next stage (`dedup_documents`), after all of silver.
"""
from __future__ import annotations

from core.filters.base import FilterStep
from core.filters.fineweb2.formatters import FTFY_STEP, SYMBOL_LINES_STEP
from core.filters.fineweb2.language_id import GLOTLID_STEP
from core.filters.fineweb2.precision import PRECISION_STEP
from core.filters.fineweb_quality import FINEWEB_QUALITY_STEP
from core.filters.gopher_quality import GOPHER_QUALITY_STEP
from core.filters.gopher_repetition import GOPHER_REPETITION_STEP
from core.filters.pii import PII_STEP
from core.filters.url_filter import URL_STEP

FINEWEB2_RECIPE: tuple[FilterStep, ...] = (
    URL_STEP,
    GLOTLID_STEP,
    GOPHER_REPETITION_STEP,
    FINEWEB_QUALITY_STEP,
    GOPHER_QUALITY_STEP,
    PRECISION_STEP,
    FTFY_STEP,
    PII_STEP,
    SYMBOL_LINES_STEP,
)
