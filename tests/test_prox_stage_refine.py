"""Both refinement steps over a batch with any program writer (core.prox.refine), the counts that
merge across batches (core.prox.stats) and the Arrow rows of the two tables (gpu_jobs.prox.rows).
No model, no engine."""
from __future__ import annotations

import json

import pyarrow as pa
import pytest

from contract.tables import REFINED_DOCUMENTS_SCHEMA, REFINED_PROGRAMS_SCHEMA
from core.prox.execute import (DROP, INVALID_DOC_PROGRAM, KEEP, KEEP_ORIGINAL, REFINE, TOO_MANY_ERRORS,
                               execute_chunk_programs)
from core.prox.program import SYNTAX
from core.prox.prompts import chunk_prompts
from core.prox.refine import NO_TEXT, RefinementParams, refine_documents
from core.prox.rule_writer import write_chunk_programs
from core.prox.stats import MAX_EXAMPLES, RefinementStats, batch_stats, merge_stats
from core.prox.writer import PROMPT_TOO_LONG, RuleProgramWriter, WrittenProgram, approx_token_count
from gpu_jobs.prox.rows import documents_table, programs_table
from tests.test_prox_rule_writer import PAGE, PROSE

ARTICLE = "\n".join(["Menu", *PROSE, "Share this article", "Cookie settings"])


class ScriptedWriter:
    """A program writer whose programs a test chooses; it records every prompt it is given."""

    name = "scripted"

    def __init__(self, doc=lambda text: "keep_doc()", chunk=lambda prompt: "keep_chunk()",
                 too_long=lambda prompt: False, words_per_line_budget: bool = False):
        self.doc, self.chunk, self.too_long = doc, chunk, too_long
        self.doc_prompts: list[str] = []
        self.chunk_prompts: list[list[str]] = []

    def count_chunk_tokens(self, texts):
        return [len(t.split()) + 1 for t in texts]

    def chunk_budget(self, max_tokens):
        return max_tokens

    def doc_programs(self, documents):
        self.doc_prompts.extend(documents)
        return [WrittenProgram(self.doc(d)) for d in documents]

    def chunk_programs(self, prompts):
        self.chunk_prompts.extend(list(p) for p in prompts)
        return [[WrittenProgram("", PROMPT_TOO_LONG, "test") if self.too_long(p) else WrittenProgram(self.chunk(p))
                 for p in document] for document in prompts]


def test_rule_writer_gives_what_the_core_functions_give_one_by_one():
    [outcome] = refine_documents([PAGE], RuleProgramWriter())
    chunks, prompts = chunk_prompts(PAGE, approx_token_count)
    programs = write_chunk_programs(prompts)
    direct = execute_chunk_programs(PAGE, chunks, programs)
    assert outcome.action == direct.action == REFINE
    assert outcome.text == direct.text
    assert outcome.chunk_programs == tuple(programs)
    assert outcome.doc_program == "keep_doc()" and outcome.doc_action == KEEP
    assert outcome.decided_by == "chunk"
    assert outcome.lines_removed == direct.lines_removed and outcome.n_lines_removed == 13
    assert outcome.n_lines == 18 and outcome.chars_before == len(PAGE) and outcome.chars_after == len(direct.text)
    assert outcome.n_errors == 0 and outcome.new_tokens == 0


def test_a_document_the_document_stage_drops_never_reaches_the_chunk_stage():
    writer = ScriptedWriter(doc=lambda text: "drop_doc()" if text.startswith("Menu") else "keep_doc()")
    dropped, kept = refine_documents([ARTICLE, PAGE], writer)
    assert (dropped.action, dropped.reason, dropped.decided_by) == (DROP, "prox.drop_doc", "doc")
    assert dropped.text == "" and dropped.chunk_programs == () and dropped.chunk_action is None
    assert dropped.chars_after == 0 and dropped.words_after == 0
    assert [p[0].splitlines()[1] for p in writer.chunk_prompts] == ["[000]" + PAGE.split("\n")[0]]
    assert kept.action == KEEP and kept.text == PAGE


def test_an_invalid_document_program_keeps_the_document_and_the_chunk_stage_still_runs():
    writer = ScriptedWriter(doc=lambda text: "I think this page is fine",
                            chunk=lambda prompt: "remove_lines(line_start=0, line_end=0)")
    [outcome] = refine_documents([ARTICLE], writer)
    assert outcome.doc_action == KEEP_ORIGINAL
    assert [e.reason for e in outcome.doc_errors] == [SYNTAX]
    assert outcome.action == REFINE and outcome.text == ARTICLE.split("\n", 1)[1]
    assert outcome.n_errors == 1 and outcome.decided_by == "chunk"


def test_a_chunk_the_writer_could_not_see_is_an_error_of_the_chunk_program():
    text = "\n".join(PROSE)
    one = ScriptedWriter(too_long=lambda prompt: "[001]" in prompt)
    params = RefinementParams(chunk_max_tokens=20)  # one prose line per chunk
    [outcome] = refine_documents([text], one, params)
    assert len(outcome.chunk_programs) == 4
    assert [(e.reason, e.chunk) for e in outcome.chunk_errors] == [(PROMPT_TOO_LONG, 1)]
    assert outcome.action == KEEP  # one error is below error_op, nothing else changed
    two = ScriptedWriter(too_long=lambda prompt: "[001]" in prompt or "[003]" in prompt,
                         chunk=lambda prompt: "remove_lines(line_start=0, line_end=0)")
    [outcome] = refine_documents([text], two, params)
    assert outcome.action == KEEP_ORIGINAL and outcome.reason == TOO_MANY_ERRORS and outcome.text == text


def test_a_null_text_is_dropped_with_its_own_reason_and_the_rest_of_the_batch_goes_on():
    writer = ScriptedWriter()
    outcomes = refine_documents([None, ARTICLE, None], writer)
    assert [(o.action, o.reason, o.decided_by) for o in outcomes] == [
        (DROP, NO_TEXT, "input"), (KEEP, None, "chunk"), (DROP, NO_TEXT, "input")]
    assert writer.doc_prompts == [ARTICLE]


def test_stage_switches():
    only_chunks = refine_documents([ARTICLE], ScriptedWriter(), RefinementParams(doc_stage=False))[0]
    assert only_chunks.doc_action is None and only_chunks.doc_program is None and only_chunks.chunk_action == KEEP
    only_doc = refine_documents([ARTICLE], ScriptedWriter(), RefinementParams(chunk_stage=False))[0]
    assert only_doc.chunk_action is None and only_doc.chunk_programs == () and only_doc.action == KEEP
    broken = refine_documents([ARTICLE], ScriptedWriter(doc=lambda t: "nonsense"), RefinementParams(chunk_stage=False))
    assert (broken[0].action, broken[0].reason) == (KEEP_ORIGINAL, INVALID_DOC_PROGRAM)
    with pytest.raises(ValueError, match="document stage, the chunk stage or both"):
        RefinementParams(doc_stage=False, chunk_stage=False)


def test_a_writer_that_breaks_its_interface_is_a_clear_error():
    class Short(ScriptedWriter):
        def doc_programs(self, documents):
            return super().doc_programs(documents)[:-1]

    with pytest.raises(ValueError, match="returned 1 document programs for 2 prompts"):
        refine_documents([ARTICLE, PAGE], Short())


def test_an_empty_batch_and_an_empty_text():
    assert refine_documents([], ScriptedWriter()) == []
    [empty] = refine_documents([""], ScriptedWriter())
    assert (empty.action, empty.reason, empty.n_lines, empty.chunk_programs) == (DROP, "prox.too_few_words", 0, ())


# ----------------------------------------------------------------------------------------- stats


def _batch():
    texts = [PAGE, ARTICLE, None, "", PAGE.replace("Riverside", "Hillside")]
    ids = [f"d{i}" for i in range(len(texts))]
    return ids, texts, refine_documents(texts, RuleProgramWriter())


def test_stats_merge_like_one_batch_and_round_trip_through_json():
    ids, texts, outcomes = _batch()
    whole = batch_stats(ids, outcomes, texts)
    parts = [batch_stats(ids[:2], outcomes[:2], texts[:2]), batch_stats(ids[2:], outcomes[2:], texts[2:])]
    merged = merge_stats(RefinementStats.from_json(p.to_json()) for p in parts)
    assert json.loads(merged.to_json()) == json.loads(whole.to_json())
    assert whole.entered == 5 and whole.dropped == sum(o.action == DROP for o in outcomes)
    assert whole.dropped_by_stage["input"] == 1
    assert whole.lines_removed == sum(o.n_lines_removed for o in outcomes)
    assert whole.lines == sum(o.n_lines for o in outcomes)
    assert whole.drop_rate == whole.dropped / 5
    assert 0 < whole.chunk_stage_char_retention < 1 and whole.error_rate == 0.0


def test_rates_of_nothing_are_zero_and_examples_are_the_biggest_changes():
    assert RefinementStats().drop_rate == RefinementStats().lines_removed_share == 0.0
    ids, texts, outcomes = _batch()
    stats = batch_stats(ids, outcomes, texts)
    changed = sorted((o.chars_changed, i) for i, o in zip(ids, outcomes) if o.chars_changed)
    assert [e["doc_id"] for e in stats.examples] == [i for _, i in sorted(changed, key=lambda c: (-c[0], c[1]))][
        :MAX_EXAMPLES]
    first = stats.examples[0]
    assert first["removed_lines"][0] == "[001]Skip to content"
    assert "remove_lines(line_start=1" in first["program"]


# ------------------------------------------------------------------------------------------- rows


def test_rows_follow_the_contract_and_dropped_documents_have_only_a_program():
    ids, texts, outcomes = _batch()
    programs = programs_table(ids, outcomes, "CC-MAIN-2024-10", "run1", "rule")
    documents = documents_table(ids, outcomes, "CC-MAIN-2024-10", "run1")
    assert programs.schema == REFINED_PROGRAMS_SCHEMA and documents.schema == REFINED_DOCUMENTS_SCHEMA
    assert programs.column("doc_id").to_pylist() == ids
    kept = [i for i, o in zip(ids, outcomes) if o.action != DROP]
    assert documents.column("doc_id").to_pylist() == kept
    assert documents.column("text").to_pylist() == [o.text for o in outcomes if o.action != DROP]
    first = programs.slice(0, 1).to_pylist()[0]
    assert first["lines_removed"] == [{"start": s, "end": e} for s, e in outcomes[0].lines_removed]
    assert first["backend"] == "rule" and first["run_id"] == "run1" and first["n_chars_before"] == len(PAGE)


def test_program_errors_are_rows_with_stage_reason_chunk_and_line():
    writer = ScriptedWriter(doc=lambda t: "keep_doc(", chunk=lambda p: "keep_chunk()\nrm -rf /")
    outcomes = refine_documents([ARTICLE], writer)
    row = programs_table(["a"], outcomes, "CC-MAIN-2024-10", "r", writer.name).to_pylist()[0]
    assert [(e["stage"], e["reason"], e["chunk"], e["line"]) for e in row["errors"]] == [
        ("doc", SYNTAX, None, 0), ("chunk", SYNTAX, 0, 1)]
    assert row["n_errors"] == 2 and row["doc_action"] == KEEP_ORIGINAL
    assert pa.Table.from_pylist([row], schema=REFINED_PROGRAMS_SCHEMA).num_rows == 1
