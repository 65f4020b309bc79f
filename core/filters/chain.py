"""The SILVER filter chain: a recipe (a tuple of `FilterStep`s, FineWeb's by default) run over a
batch of documents, or over one.

Steps run in recipe order over the whole batch: a step that declares `apply_batch` (language ID:
one fastText call) sees every document still in play at once, the others one document at a time;
the word split is shared between steps until one rewrites the text (C4). A step whose params are
None is switched off; per-language params (FineWeb-2 style) replace a step's own for documents of
that language. The first failing rule is the reason. With `stop_at_first_failure=False`, later
steps still run (on the text as it stands) so that their statistics exist for every document; the
reason stays the first failure, and a step marked `only_on_kept` (PII) runs on kept documents only.
An unexpected exception in a step drops that document with `<step>.error` and the message; the
other documents go on. A step's `setup` (model, lists) runs once, outside that guard: its errors
are configuration errors and fatal.

`run_chain_on_batch` is what the Spark `mapInArrow` wrapper calls. Its output has one row per input
row, in input order, with the columns of `output_schema(config)`: the decision, the final text and
every statistic the recipe declares (null where a step did not run or did not get that far).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping, Sequence

import pyarrow as pa

from core.filters.base import Document, FilterStep, Statistic
from core.filters.recipe import FINEWEB_RECIPE

FILTER_ORDER = tuple(step.name for step in FINEWEB_RECIPE)


@dataclass(frozen=True)
class ChainConfig:
    """Params per step name (None: off; a step left out: its published defaults) and per language.

    `ChainConfig(params={"url": None, "language": None})` is the FineWeb recipe without URL and
    language filtering; `language_overrides={"de": {"gopher_quality": GopherQualityParams(...)}}`
    replaces a step's params for German documents (steps with `per_language` only).
    """

    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    language_overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))
    stop_at_first_failure: bool = True
    recipe: tuple[FilterStep, ...] = FINEWEB_RECIPE
    # language key -> word splitter (FineWeb2: per-language tokenizers); None: FineWeb's English split
    splitter_for: Callable[[str | None], Callable[[str], list[str]]] | None = None

    def __post_init__(self):
        steps = _steps_by_name(self.recipe)
        _check_params(self.params, steps, "params")
        full = {name: self.params[name] if name in self.params else step.params_type()
                for name, step in steps.items()}
        tunable = {name: step for name, step in steps.items() if step.per_language}
        overrides = {}
        for language, per_step in self.language_overrides.items():
            _check_params(per_step, tunable, f"language_overrides[{language!r}]")
            overrides[language] = MappingProxyType(dict(per_step))
        object.__setattr__(self, "params", MappingProxyType(full))
        object.__setattr__(self, "language_overrides", MappingProxyType(overrides))

    def params_for(self, step: str, language: str | None = None):
        """The params `step` runs with on a document of `language` (None: the step is off)."""
        own = self.params[step]
        if own is None or language is None:
            return own
        override = self.language_overrides.get(language, {}).get(step)
        return own if override is None else override


def _steps_by_name(recipe: Sequence[FilterStep]) -> dict[str, FilterStep]:
    steps = {step.name: step for step in recipe}
    if len(steps) != len(recipe):
        raise ValueError(f"a recipe names each step once: {[s.name for s in recipe]}")
    return steps


def _check_params(params: Mapping[str, Any], steps: Mapping[str, FilterStep], where: str) -> None:
    unknown = set(params) - set(steps)
    if unknown:
        raise ValueError(f"{where}: unknown step(s) {sorted(unknown)}; known: {list(steps)}")
    for name, value in params.items():
        if value is not None and not isinstance(value, steps[name].params_type):
            raise TypeError(f"{where}[{name!r}]: expected {steps[name].params_type.__name__} or "
                            f"None, got {type(value).__name__}")


@dataclass(frozen=True)
class ChainResult:
    keep: bool
    reason: str | None  # first failing "<step>.<rule>", None when kept
    text: str  # kept: after every rewriting step (C4 line removal, PII); dropped: the input text
    language: str | None
    language_score: float | None
    stats: dict  # "<step>.<feature>" -> value, for every step that ran
    error: str | None = None  # an unexpected exception in a step (the document is then dropped)


# ----------------------------------------------------------------------------- running
def _runs_on(step: FilterStep, doc: Document, stop_at_first_failure: bool) -> bool:
    if doc.error is not None:
        return False
    if doc.reason is None:
        return True
    return not stop_at_first_failure and not step.only_on_kept


def _apply_step(step: FilterStep, docs: list[Document], config: ChainConfig) -> None:
    if step.apply_batch is not None:
        try:
            results = step.apply_batch(docs, config.params[step.name])
        except Exception:  # one bad document must not sink the batch: go one by one, below
            results = None
        if results is not None:
            for doc, result in zip(docs, results, strict=True):
                doc.record(result)
            return
    for doc in docs:
        try:
            doc.record(step.apply(doc, config.params_for(step.name, doc.language_key)))
        except Exception as exc:  # a bug, never expected: drop with the step named, never raise
            doc.fail(step.name, exc)


def run_documents(docs: list[Document], config: ChainConfig = ChainConfig()) -> list[ChainResult]:
    """Run every enabled step of `config.recipe`, in order, over all documents."""
    for step in config.recipe:
        params = config.params[step.name]
        todo = [doc for doc in docs if _runs_on(step, doc, config.stop_at_first_failure)]
        if params is None or not todo:
            continue
        if step.setup is not None:
            step.setup(params)
        _apply_step(step, todo, config)
    return [_result(doc) for doc in docs]


def _result(doc: Document) -> ChainResult:
    keep = doc.reason is None and doc.error is None
    return ChainResult(keep, doc.reason, doc.text if keep else doc.original, doc.language,
                       doc.stats.get("language.score"), doc.stats, doc.error)


def run_chain(text: str | None, url: str | None = None, config: ChainConfig = ChainConfig()) -> ChainResult:
    """The chain on one document (a missing text counts as empty)."""
    return run_documents([Document(text, url, config.splitter_for)], config)[0]


# ----------------------------------------------------------------------------- Arrow batches
_DECISION_FIELDS = (
    pa.field("keep", pa.bool_(), nullable=False),
    pa.field("reason", pa.string()),
    pa.field("text", pa.string()),
    pa.field("error", pa.string()),
)


def recipe_statistics(recipe: Sequence[FilterStep] = FINEWEB_RECIPE) -> tuple[Statistic, ...]:
    """Every statistic the recipe's steps declare, in recipe order."""
    return tuple(stat for step in recipe for stat in step.statistics)


def statistics_schema(recipe: Sequence[FilterStep] = FINEWEB_RECIPE) -> pa.Schema:
    """The statistic columns of a recipe, whatever is switched off (a step that did not run: null)."""
    return pa.schema([pa.field(stat.column, stat.type) for stat in recipe_statistics(recipe)])


def output_schema(config: ChainConfig = ChainConfig()) -> pa.Schema:
    return pa.schema([*_DECISION_FIELDS, *statistics_schema(config.recipe)])


def _columns_of(batch) -> tuple[list, list]:
    if isinstance(batch, (pa.RecordBatch, pa.Table)):
        texts = batch.column("text").to_pylist()
        urls = batch.column("url").to_pylist() if "url" in batch.schema.names else [None] * len(texts)
        return texts, urls
    rows = list(batch)
    return [r.get("text") for r in rows], [r.get("url") for r in rows]


def run_chain_on_batch(batch: pa.RecordBatch | pa.Table | Sequence[dict],
                       config: ChainConfig = ChainConfig()) -> pa.RecordBatch:
    """Run the chain on every row (`text`, `url`); returns `output_schema(config)` in row order."""
    texts, urls = _columns_of(batch)
    docs = [Document(t, u, config.splitter_for) for t, u in zip(texts, urls)]
    return results_to_batch(run_documents(docs, config), config)


def results_to_batch(results: Iterable[ChainResult], config: ChainConfig = ChainConfig()) -> pa.RecordBatch:
    """Chain results as `output_schema(config)`; a statistic no step declares is an error."""
    results = list(results)
    statistics = recipe_statistics(config.recipe)
    undeclared = set().union(*(r.stats for r in results)) - {s.name for s in statistics}
    if undeclared:
        raise ValueError(f"statistics produced but not declared by their step: {sorted(undeclared)}")
    arrays = [
        pa.array([r.keep for r in results], pa.bool_()),
        pa.array([r.reason for r in results], pa.string()),
        pa.array([r.text for r in results], pa.string()),
        pa.array([r.error for r in results], pa.string()),
    ]
    arrays += [pa.array([r.stats.get(s.name) for r in results], s.type) for s in statistics]
    return pa.RecordBatch.from_arrays(arrays, schema=output_schema(config))
