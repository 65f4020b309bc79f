"""The per-crawl report: documents at every stage, why documents left, duplicates, scores, shards.

`CrawlReport` holds numbers only (gathered from the Delta tables by `gpu_jobs.report`); this module
turns them into a markdown page and PNG charts, readable without the Dagster UI. A stage that has
not run for the crawl is `None` and says so in the page instead of showing zeros.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Mapping

SCORE_BINS = 10  # score histogram: [0, 0.1), ..., [0.9, 1.0]
TOP_REASONS = 15  # reasons listed per table; the rest are summed as "(other)"
# Tokens of the stages before the shards are estimated from their characters: about 4 characters of
# English text per token for GPT-style BPE tokenizers (OpenAI's tokenizer guide: "one token generally
# corresponds to ~4 characters of text for common English text"). Only the shards are tokenized.
CHARS_PER_TOKEN = 4.0
TOKENS_NOTE = (f"Tokens: `≈` marks an estimate, characters / {CHARS_PER_TOKEN:g} (about {CHARS_PER_TOKEN:g} "
               "characters of English per BPE token), for the stages before the shards; training_shards' "
               "tokens are exact: the shards tokenizer's, end-of-document tokens and repeated copies included.")


def estimated_tokens(characters: int | None) -> int | None:
    """Tokens estimated from characters (CHARS_PER_TOKEN); None when the characters are unknown."""
    return None if characters is None else round(characters / CHARS_PER_TOKEN)


@dataclass(frozen=True)
class StageCount:
    stage: str  # asset name, e.g. silver_documents
    table: str  # lake table, e.g. silver/documents
    documents: int | None  # rows of the crawl's partition; None: the table has no rows for the crawl
    characters: int | None = None  # sum of n_chars of those rows; None: not known for the stage
    tokens: int | None = None  # exact when tokens_exact, else estimated_tokens(characters)
    tokens_exact: bool = False  # counted by the shards tokenizer (training_shards)


@dataclass
class CrawlReport:
    crawl: str
    files_selected: int | None = None
    files_by_status: dict[str, int] = field(default_factory=dict)
    stages: list[StageCount] = field(default_factory=list)  # in pipeline order
    bronze_errors_by_reason: dict[str, int] = field(default_factory=dict)
    silver_rejects_by_reason: dict[str, int] = field(default_factory=dict)
    dedup_removed_by_reason: dict[str, int] = field(default_factory=dict)
    score_histogram: list[int] | None = None  # SCORE_BINS counts; None: no scores for the crawl
    selected: int | None = None  # PreSelect's selection
    refined_by_action: dict[str, int] = field(default_factory=dict)
    shards: int | None = None
    shard_documents: int | None = None  # sequences in the shards (copies included)
    shard_tokens: int | None = None

    def documents(self, stage: str) -> int | None:
        return next((s.documents for s in self.stages if s.stage == stage), None)


def score_histogram(scores, bins: int = SCORE_BINS) -> list[int]:
    """Counts of scores in `bins` equal bins of [0, 1] (1.0 falls in the last; NaN is not counted)."""
    import numpy as np

    values = np.asarray(scores, dtype=np.float64)
    values = values[~np.isnan(values)]
    index = np.clip((values * bins).astype(np.int64), 0, bins - 1)
    return np.bincount(index, minlength=bins).tolist()


def _share(part: int | None, whole: int | None) -> str:
    if part is None or not whole:
        return ""
    return f"{part / whole:.1%}"


def _counts_table(counts: Mapping[str, int], title: str, total: int | None) -> list[str]:
    if not counts:
        return ["(none)"]
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown, rest = items[:TOP_REASONS], items[TOP_REASONS:]
    if rest:
        shown.append(("(other)", sum(n for _, n in rest)))
    lines = [f"| {title} | documents | share |", "|---|---:|---:|"]
    lines += [f"| {key if key == '(other)' else f'`{key}`'} | {n:,} | {_share(n, total)} |" for key, n in shown]
    return lines


def render_markdown(report: CrawlReport, charts: Mapping[str, str] = {}) -> str:
    """The report page; `charts` maps chart names (see `render_charts`) to the image paths to link."""
    out = [f"# {report.crawl}", ""]
    if report.files_selected is not None:
        status = ", ".join(f"{n:,} {s}" for s, n in sorted(report.files_by_status.items()))
        out += [f"Files selected: {report.files_selected:,} ({status}).", ""]
    out += ["## Documents and tokens at every stage", "",
            "| stage | table | documents | of bronze | characters | tokens | tokens of bronze |",
            "|---|---|---:|---:|---:|---:|---:|"]
    bronze = report.documents("bronze_documents")
    bronze_tokens = next((s.tokens for s in report.stages if s.stage == "bronze_documents"), None)
    for s in report.stages:
        shown = f"{s.documents:,}" if s.documents is not None else "no rows (not run?)"
        characters = f"{s.characters:,}" if s.characters is not None else ""
        tokens = "" if s.tokens is None else f"{'' if s.tokens_exact else '≈'}{s.tokens:,}"
        out.append(f"| {s.stage} | `{s.table}` | {shown} | {_share(s.documents, bronze)} | {characters} | "
                   f"{tokens} | {_share(s.tokens, bronze_tokens)} |")
    out += ["", TOKENS_NOTE]
    if report.shard_tokens is not None:
        out += ["", f"Training shards: {report.shards:,} shards, {report.shard_documents:,} sequences, "
                    f"{report.shard_tokens:,} tokens."]
    if "funnel" in charts:
        out += ["", f"![documents at every stage]({charts['funnel']})"]
    if "tokens" in charts:
        out += ["", f"![tokens at every stage]({charts['tokens']})"]
    silver_in = report.documents("bronze_documents")
    out += ["", "## Why documents left", "", "### Bronze errors (files and records)", ""]
    out += _counts_table(report.bronze_errors_by_reason, "reason", None)
    out += ["", "### Silver rejects (first failing rule)", ""]
    out += _counts_table(report.silver_rejects_by_reason, "reason", silver_in)
    if "rejects" in charts:
        out += ["", f"![silver rejects by reason]({charts['rejects']})"]
    dedup_in = report.documents("silver_documents")
    removed = sum(report.dedup_removed_by_reason.values())
    out += ["", "## Duplicates", ""]
    if dedup_in is not None and report.documents("dedup_documents") is not None:
        out.append(f"{removed:,} of {dedup_in:,} silver documents removed as duplicates "
                   f"({_share(removed, dedup_in) or '0.0%'}).")
        out.append("")
    out += _counts_table(report.dedup_removed_by_reason, "reason", dedup_in)
    out += ["", "## PreSelect scores", ""]
    if report.score_histogram is None:
        out.append("not run")
    else:
        scored = sum(report.score_histogram)
        out.append(f"{scored:,} documents scored, {report.selected or 0:,} selected "
                   f"({_share(report.selected or 0, scored) or '0.0%'}).")
        out += ["", "| score | documents |", "|---|---:|"]
        for i, n in enumerate(report.score_histogram):
            out.append(f"| {i / SCORE_BINS:.1f}-{(i + 1) / SCORE_BINS:.1f} | {n:,} |")
        if "scores" in charts:
            out += ["", f"![score histogram]({charts['scores']})"]
    out += ["", "## ProX refinement", ""]
    out += _counts_table(report.refined_by_action, "action", None) if report.refined_by_action else ["not run"]
    return "\n".join(out) + "\n"


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def render_charts(report: CrawlReport) -> dict[str, bytes]:
    """PNG bytes by chart name: `funnel` (documents per stage), `tokens` (tokens per stage), `rejects`
    (silver reasons), `scores`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    charts: dict[str, bytes] = {}
    stages = [s for s in report.stages if s.documents is not None]
    if stages:
        fig, ax = plt.subplots(figsize=(7, 0.4 * len(stages) + 1.0), dpi=90)
        ax.barh([s.stage for s in reversed(stages)], [s.documents for s in reversed(stages)], color="#4c72b0")
        ax.set_title(f"{report.crawl}: documents at every stage")
        ax.set_xlabel("documents")
        charts["funnel"] = _png(fig)
    with_tokens = [s for s in report.stages if s.tokens is not None]
    if with_tokens:
        fig, ax = plt.subplots(figsize=(7, 0.4 * len(with_tokens) + 1.0), dpi=90)
        ax.barh([s.stage + ("" if s.tokens_exact else " (est.)") for s in reversed(with_tokens)],
                [s.tokens for s in reversed(with_tokens)],
                color=["#4c72b0" if s.tokens_exact else "#8da0cb" for s in reversed(with_tokens)])
        ax.set_title(f"{report.crawl}: tokens at every stage (est. = characters / {CHARS_PER_TOKEN:g})")
        ax.set_xlabel("tokens")
        charts["tokens"] = _png(fig)
    if report.silver_rejects_by_reason:
        items = sorted(report.silver_rejects_by_reason.items(), key=lambda kv: kv[1])[-TOP_REASONS:]
        fig, ax = plt.subplots(figsize=(7, 0.35 * len(items) + 1.0), dpi=90)
        ax.barh([k for k, _ in items], [n for _, n in items], color="#c44e52")
        ax.set_title(f"{report.crawl}: silver rejects by first failing rule")
        ax.set_xlabel("documents")
        charts["rejects"] = _png(fig)
    if report.score_histogram is not None:
        fig, ax = plt.subplots(figsize=(7, 3), dpi=90)
        edges = [i / SCORE_BINS for i in range(SCORE_BINS)]
        ax.bar(edges, report.score_histogram, width=1 / SCORE_BINS, align="edge", color="#55a868",
               edgecolor="white")
        ax.set_title(f"{report.crawl}: PreSelect scores")
        ax.set_xlabel("score")
        ax.set_ylabel("documents")
        charts["scores"] = _png(fig)
    return charts
