"""FineWeb2's final touches before writing (`fineweb-2-pipeline.py` step 6): FTFY, then PII, then
the table-line fix. They never drop a document; they rewrite kept ones (`only_on_kept`).

- `ftfy`: datatrove's FTFYFormatter, `ftfy.fix_text` with its configuration (fix encodings, C1
  controls, surrogates, terminal escapes, HTML entities "auto", control characters; no
  normalisation, no width, quote, ligature or line-break changes).
- PII: this project's `core.filters.pii` step (FineWeb's), placed between them as FineWeb2 does.
- `symbol_lines`: datatrove's SymbolLinesFormatter(symbols_to_remove=["|"], replace_char="\\n"):
  every run of lines made only of `|` and spaces becomes one empty line (Trafilatura's table
  borders). As there, the text is rebuilt from `str.splitlines()` joined by `\\n` even when no line
  is removed (a trailing newline or a `\\r\\n` does not survive).
"""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from core.filters.base import Document, FilterResult, FilterStep, Statistic, int_stats


@dataclass(frozen=True)
class FtfyParams:
    unescape_html: str | bool = "auto"  # datatrove FTFYFormatter unescape_html="auto"
    remove_terminal_escapes: bool = True  # datatrove FTFYFormatter remove_terminal_escapes=True
    fix_encoding: bool = True  # datatrove FTFYFormatter fix_encoding=True
    restore_byte_a0: bool = True  # datatrove FTFYFormatter restore_byte_a0=True
    replace_lossy_sequences: bool = True  # datatrove FTFYFormatter replace_lossy_sequences=True
    decode_inconsistent_utf8: bool = True  # datatrove FTFYFormatter decode_inconsistent_utf8=True
    fix_c1_controls: bool = True  # datatrove FTFYFormatter fix_c1_controls=True
    fix_latin_ligatures: bool = False  # datatrove FTFYFormatter fix_latin_ligatures=False
    fix_character_width: bool = False  # datatrove FTFYFormatter fix_character_width=False
    uncurl_quotes: bool = False  # datatrove FTFYFormatter uncurl_quotes=False
    fix_line_breaks: bool = False  # datatrove FTFYFormatter fix_line_breaks=False
    fix_surrogates: bool = True  # datatrove FTFYFormatter fix_surrogates=True
    remove_control_chars: bool = True  # datatrove FTFYFormatter remove_control_chars=True
    normalization: str | None = None  # datatrove FTFYFormatter normalization=None


def fix_text(text: str, params: FtfyParams = FtfyParams()) -> FilterResult:
    import ftfy

    config = ftfy.TextFixerConfig(**{f: getattr(params, f) for f in params.__dataclass_fields__})
    fixed = ftfy.fix_text(text, config=config)
    return FilterResult(True, None, {"ftfy.changed": fixed != text}, text=fixed)


FTFY_STEP = FilterStep(
    name="ftfy",
    params_type=FtfyParams,
    statistics=(Statistic("ftfy.changed", pa.bool_()),),
    apply=lambda doc, params: fix_text(doc.text, params),
    only_on_kept=True,
)


@dataclass(frozen=True)
class SymbolLinesParams:
    symbols: str = "|"  # fineweb-2-pipeline.py SymbolLinesFormatter(symbols_to_remove=["|"])
    replace_with: str = "\n"  # fineweb-2-pipeline.py SymbolLinesFormatter(replace_char="\n")


def remove_symbol_lines(text: str, params: SymbolLinesParams = SymbolLinesParams()) -> FilterResult:
    """Replace each run of lines made only of `params.symbols` (and spaces) by `replace_with`."""
    symbols = set(params.symbols) | {" "}
    kept: list[str] = []
    removed = 0
    in_run = False
    for line in text.splitlines():
        if line.strip() and symbols.issuperset(line):
            removed += 1
            if not in_run and params.replace_with:
                kept.append(params.replace_with)
            in_run = True
        else:
            kept.append(line)
            in_run = False
    return FilterResult(True, None, {"symbol_lines.n_lines_removed": removed}, text="\n".join(kept))


SYMBOL_LINES_STEP = FilterStep(
    name="symbol_lines",
    params_type=SymbolLinesParams,
    statistics=int_stats("symbol_lines", "n_lines_removed"),
    apply=lambda doc, params: remove_symbol_lines(doc.text, params),
    only_on_kept=True,
)
