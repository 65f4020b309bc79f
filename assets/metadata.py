"""Metadata helpers shared by the assets: funnel tables and small charts for the Dagster UI."""
from __future__ import annotations

import base64
import io

from dagster import MetadataValue


def counts_table(counts: dict[str, int], title: str = "reason", total: int | None = None) -> str:
    """A markdown table of counts, largest first, with the share of `total` when given."""
    lines = [f"| {title} | count |" + (" share |" if total else ""),
             "|---|---:|" + ("---:|" if total else "")]
    for key, value in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        share = f" {value / total:.1%} |" if total else ""
        lines.append(f"| {key} | {value:,} |{share}")
    if not counts:
        lines.append("| (none) | 0 |" + (" |" if total else ""))
    return "\n".join(lines)


def bar_chart_markdown(counts: dict[str, int], title: str) -> MetadataValue:
    """A horizontal bar chart as an inline PNG in markdown (renders in the Dagster UI)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = sorted(counts.items(), key=lambda kv: kv[1])
    fig, ax = plt.subplots(figsize=(6, 0.35 * max(3, len(items)) + 0.8), dpi=80)
    ax.barh([k for k, _ in items], [v for _, v in items], color="#4c72b0")
    ax.set_title(title)
    ax.set_xlabel("documents")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return MetadataValue.md(f"![{title}](data:image/png;base64,{encoded})")
