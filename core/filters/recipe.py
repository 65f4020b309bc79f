"""The FineWeb recipe as a list of steps, in datatrove examples/fineweb.py's order (URLFilter →
LanguageFilter → GopherRepetitionFilter → GopherQualityFilter → C4QualityFilter →
FineWebQualityFilter), PII last as in FineWeb's release. A new filter is a module ending with its `FilterStep` plus a line
here; `core.filters.chain` runs any such tuple of steps.
"""
from __future__ import annotations

from core.filters.base import FilterStep
from core.filters.c4_quality import C4_STEP
from core.filters.fineweb_quality import FINEWEB_QUALITY_STEP
from core.filters.gopher_quality import GOPHER_QUALITY_STEP
from core.filters.gopher_repetition import GOPHER_REPETITION_STEP
from core.filters.language_id import LANGUAGE_STEP
from core.filters.pii import PII_STEP
from core.filters.url_filter import URL_STEP

FINEWEB_RECIPE: tuple[FilterStep, ...] = (
    URL_STEP,
    LANGUAGE_STEP,
    GOPHER_REPETITION_STEP,
    GOPHER_QUALITY_STEP,
    C4_STEP,
    FINEWEB_QUALITY_STEP,
    PII_STEP,
)
