"""Executing ProX programs: the released semantics, their documented differences, the decision edges."""
import pytest

from core.prox.chunks import Chunk, chunk_document
from core.prox.execute import (
    BELOW_THRESHOLD_1,
    CONFLICTING_DOC_CALLS,
    DROP,
    DROP_DOC,
    EMPTY_DOC_PROGRAM,
    INVALID_DOC_PROGRAM,
    KEEP,
    KEEP_ORIGINAL,
    LINE_OUT_OF_RANGE,
    NORMALIZE_GROWTH,
    REFINE,
    REMOVED_MOST,
    REVERSED_RANGE,
    TOO_FEW_WORDS,
    TOO_MANY_ERRORS,
    ExecutionParams,
    decide,
    execute_chunk_programs,
    execute_doc_program,
    merge_intervals,
)
from core.prox.program import BAD_ARGUMENT, SYNTAX, UNKNOWN_FUNCTION, Normalize, RemoveLines


def lines_doc(n_lines: int, words_per_line: int = 5) -> str:
    return "\n".join(" ".join(f"l{i}w{j}" for j in range(words_per_line)) for i in range(n_lines))


def one_chunk(text: str) -> tuple[Chunk, ...]:
    return chunk_document(text, lambda s: 1, max_tokens=10**9)


def chunks_of(text: str, lines_per_chunk: int) -> tuple[Chunk, ...]:
    chunks = chunk_document(text, lambda s: 1, max_tokens=lines_per_chunk)
    assert all(c.last_line - c.first_line + 1 <= lines_per_chunk for c in chunks)
    return chunks


def run(text, *programs, chunks=None, params=ExecutionParams()):
    chunks = chunks if chunks is not None else one_chunk(text)
    return execute_chunk_programs(text, chunks, list(programs), params)


def test_remove_lines_is_zero_based_and_inclusive():
    text = lines_doc(6)
    result = run(text, "remove_lines(line_start=1, line_end=2)")
    assert result.action == REFINE and result.reason is None
    assert result.text.split("\n") == [text.split("\n")[i] for i in (0, 3, 4, 5)]
    assert result.lines_removed == ((1, 2),) and result.n_lines_removed == 2
    assert result.words_before == 30 and result.words_after == 20
    assert result.chars_changed == sum(len(text.split("\n")[i]) + 1 for i in (1, 2))


def test_normalize_replaces_every_occurrence_in_the_whole_document_before_removal():
    text = "Intro: foo bar baz qux.\nfoo in the middle line here.\nLast line with foo too, and more words."
    chunks = chunks_of(text, 1)
    # chunk 2 normalizes a string that also occurs in lines of chunks 0 and 1; chunk 1 removes its line
    result = run(text, "keep_chunk()", "remove_lines(1, 1)", 'normalize(source_str="foo", target_str="FOO")', chunks=chunks)
    assert result.text == "Intro: FOO bar baz qux.\nLast line with FOO too, and more words."
    # all three occurrences were replaced, including the one in the removed line: removal came after
    assert result.chars_changed == 3 * 3 + len("FOO in the middle line here.") + 1


def test_removal_refers_to_the_original_line_numbers_whatever_the_call_order():
    text = lines_doc(4, words_per_line=12)
    lines = text.split("\n")
    result = run(text, f'remove_lines(0, 0)\nnormalize("{lines[1]}", "one")\nremove_lines(2, 2)')
    assert result.text == f"one\n{lines[3]}"


def test_intervals_are_merged_and_counted_once():
    text = lines_doc(20)
    program = "remove_lines(0, 2)\nremove_lines(1, 3)\nremove_lines(5, 5)\nremove_lines(6, 7)\nremove_lines(6, 6)"
    result = run(text, program)
    assert result.lines_removed == ((0, 3), (5, 7))
    assert result.n_lines_removed == 7 and result.words_after == 65
    assert merge_intervals([(9, 9), (0, 1), (3, 4), (2, 2), (1, 1), (20, 25), (22, 23)]) == ((0, 4), (9, 9), (20, 25))
    assert merge_intervals([]) == ()


def test_numbering_is_global_and_a_chunk_may_only_touch_its_own_lines():
    text = lines_doc(9)
    chunks = chunks_of(text, 3)
    assert [(c.first_line, c.last_line) for c in chunks] == [(0, 2), (3, 5), (6, 8)]
    result = run(text, "keep_chunk()", "remove_lines(line_start=4, line_end=5)", "keep_chunk()", chunks=chunks)
    assert result.lines_removed == ((4, 5),) and result.action == REFINE
    # the second chunk using chunk-local numbers reaches into the first chunk: an error, not applied
    local = run(text, "keep_chunk()", "remove_lines(line_start=1, line_end=2)", "keep_chunk()", chunks=chunks)
    assert [(e.reason, e.chunk, e.line) for e in local.errors] == [(LINE_OUT_OF_RANGE, 1, 0)]
    assert local.action == KEEP and local.text == text and local.lines_removed == ()


def test_out_of_range_and_reversed_ranges_are_errors_and_not_applied():
    text = lines_doc(10)
    partly_outside = run(text, "remove_lines(8, 12)")
    assert [e.reason for e in partly_outside.errors] == [LINE_OUT_OF_RANGE]
    assert partly_outside.action == KEEP and partly_outside.text == text  # released would remove 8-9
    reversed_ = run(text, "remove_lines(5, 3)")
    assert [e.reason for e in reversed_.errors] == [REVERSED_RANGE] and reversed_.text == text
    huge = run(text, f"remove_lines(0, {10**40})")
    assert [e.reason for e in huge.errors] == [LINE_OUT_OF_RANGE] and huge.text == text


def test_one_error_keeps_the_rest_of_the_program_two_errors_keep_the_original():
    text = lines_doc(10)
    one = run(text, "remove_lines(0, 1)\nremove_lines(5, 3)")
    assert one.action == REFINE and one.lines_removed == ((0, 1),) and len(one.errors) == 1
    two = run(text, "remove_lines(0, 1)\nremove_lines(5, 3)\nnot a call")
    assert two.action == KEEP_ORIGINAL and two.reason == TOO_MANY_ERRORS
    assert two.text == text and two.lines_removed == () and two.chars_changed == 0
    assert two.words_after == two.words_before == 50
    assert [e.reason for e in two.errors] == [SYNTAX, REVERSED_RANGE]  # parse errors come first
    assert two.calls == (RemoveLines(0, 1), RemoveLines(5, 3))


def test_errors_are_counted_across_chunks():
    text = lines_doc(6)
    result = run(text, "remove_lines(0, 0)\nbad(", "drop_doc()", chunks=chunks_of(text, 3))
    assert [(e.reason, e.chunk) for e in result.errors] == [(SYNTAX, 0), (UNKNOWN_FUNCTION, 1)]
    assert result.action == KEEP_ORIGINAL and result.text == text


def test_keep_chunk_only_or_no_op_programs_keep_the_text():
    text = lines_doc(6)
    result = run(text, "keep_chunk()", "keep_chunk()\n\n", chunks=chunks_of(text, 3))
    assert result.action == KEEP and result.text == text and result.errors == ()
    empty_programs = run(text, "", " ", chunks=chunks_of(text, 3))
    assert empty_programs.action == KEEP and empty_programs.text == text
    absent = run(text, 'normalize("zzz", "y")')
    assert absent.action == KEEP and absent.chars_changed == 0


# --- the decision at its edges (threshold_2=0.95, error_op=2, at most 10 words -> drop) -----------

def test_kept_share_of_exactly_five_percent_drops():
    text = lines_doc(20)  # 100 words
    result = run(text, "remove_lines(0, 18)")  # 5 words kept: 0.05 <= 1 - 0.95
    assert result.action == DROP and result.reason == REMOVED_MOST and result.text == ""
    big = lines_doc(400)  # 2,000 words: keep exactly 100 (5%) -> removed_most; 105 -> refine
    assert run(big, "remove_lines(0, 379)").reason == REMOVED_MOST
    assert run(big, "remove_lines(0, 378)").action == REFINE
    assert decide(2_000, 100, 1).reason == REMOVED_MOST
    assert decide(2_000, 101, 1).action == REFINE


def test_ten_kept_words_drop_eleven_refine():
    assert decide(100, 10, 0).reason == TOO_FEW_WORDS
    assert decide(100, 11, 0).action == REFINE
    text = lines_doc(4, words_per_line=5) + "\nlast"  # 21 words
    assert run(text, "remove_lines(0, 1)").action == REFINE  # 11 left
    result = run(text, "remove_lines(0, 1)\nremove_lines(4, 4)")  # 10 left
    assert result.action == DROP and result.reason == TOO_FEW_WORDS


def test_a_removed_most_drop_needs_fewer_than_two_errors():
    assert decide(2_000, 50, 1).action == DROP
    rejected = decide(2_000, 50, 2)
    assert rejected.action == KEEP_ORIGINAL and rejected.reason == TOO_MANY_ERRORS
    assert not rejected.program_applied


def test_a_short_document_is_dropped_whatever_its_program():
    text = "Only nine words are in this short document here."
    assert run(text, "keep_chunk()").reason == TOO_FEW_WORDS
    invalid = run(text, "x(\ny(")
    assert invalid.action == DROP and invalid.reason == TOO_FEW_WORDS and invalid.words_after == 9


def test_a_rejected_program_cannot_drop_a_long_document():
    # released measures the partly applied program even when it then ignores it; here it cannot
    text = lines_doc(20)
    result = run(text, "remove_lines(0, 18)\nbad(\nworse(")
    assert result.action == KEEP_ORIGINAL and result.text == text


def test_empty_and_wordless_documents_are_dropped_without_dividing_by_zero():
    empty = execute_chunk_programs("", (), [])
    assert empty.action == DROP and empty.reason == TOO_FEW_WORDS and empty.words_before == 0
    blank = run("  \n\t\n", "keep_chunk()")
    assert blank.action == DROP and blank.reason == TOO_FEW_WORDS
    no_limit = ExecutionParams(drop_at_most_words=None)
    assert decide(0, 0, 0, no_limit).reason == TOO_FEW_WORDS
    assert decide(5, 5, 0, no_limit).action == REFINE


def test_threshold_1_rejects_programs_that_keep_too_little():
    params = ExecutionParams(threshold_1=0.5)
    assert decide(100, 40, 0, params).reason == BELOW_THRESHOLD_1
    assert decide(100, 50, 0, params).action == REFINE
    text = lines_doc(20)
    result = run(text, "remove_lines(0, 11)", params=params)
    assert result.action == KEEP_ORIGINAL and result.text == text and result.lines_removed == ()


def _released_decision(words_before, words_refined, n_errors):
    """The released rule restated (a test oracle): '' for a drop, 'refined', or 'original'."""
    if words_refined / words_before <= 1 - 0.95 and n_errors < 2:
        return ""
    if words_refined <= 10:
        return ""
    if words_refined / words_before >= 0.0 and n_errors < 2:
        return "refined"
    return "original"


def test_decision_matches_the_released_rule_wherever_the_program_is_accepted():
    to_released = {DROP: "", REFINE: "refined", KEEP_ORIGINAL: "original"}
    for before in (1, 10, 11, 20, 100, 201, 2_000):
        for refined in range(0, before + 1, max(1, before // 50)):
            for n_errors in (0, 1):
                assert to_released[decide(before, refined, n_errors).action] == _released_decision(before, refined, n_errors)
            # rejected programs agree whenever the program changed nothing (refined == before)
        for n_errors in (2, 3):
            assert to_released[decide(before, before, n_errors).action] == _released_decision(before, before, n_errors)


# --- normalize bounds and caller mistakes --------------------------------------------------------

def test_normalize_that_would_blow_up_the_text_is_an_error():
    text = lines_doc(10)
    params = ExecutionParams(max_growth_chars=1_000)
    program = "\n".join(['normalize("w", "' + "w" * 100 + '")'] * 5)
    result = run(text, program, params=params)
    assert [e.reason for e in result.errors] == [NORMALIZE_GROWTH] * 5
    assert result.action == KEEP_ORIGINAL and result.text == text
    small = run(text, 'normalize("l0w0", "first-word")', params=params)
    assert small.action == REFINE and small.text.startswith("first-word l0w1")
    assert small.calls == (Normalize("l0w0", "first-word"),)


def test_chunks_must_tile_the_document():
    text = lines_doc(6)
    with pytest.raises(ValueError):
        execute_chunk_programs(text, chunks_of(text, 3), ["keep_chunk()"])
    with pytest.raises(ValueError):
        execute_chunk_programs(text, chunks_of(lines_doc(7), 3), ["", "", ""])
    gap = (Chunk(0, 0, 1, "", 0), Chunk(1, 3, 5, "", 0))
    with pytest.raises(ValueError):
        execute_chunk_programs(text, gap, ["", ""])


def test_result_never_mixes_a_dropped_text_with_kept_content():
    text = lines_doc(20)
    dropped = run(text, "remove_lines(0, 19)")
    assert dropped.action == DROP and dropped.text == "" and dropped.lines_removed == ((0, 19),)


# --- the document stage --------------------------------------------------------------------------

def test_doc_program_drop_and_keep():
    text = lines_doc(3)
    dropped = execute_doc_program(text, "drop_doc()")
    assert dropped.action == DROP and dropped.reason == DROP_DOC and dropped.text == ""
    kept = execute_doc_program(text, " keep_doc() \n")
    assert kept.action == KEEP and kept.text == text and kept.reason is None
    assert execute_doc_program(text, "drop_doc()\ndrop_doc()").action == DROP


@pytest.mark.parametrize(
    "program, reason",
    [
        ("", EMPTY_DOC_PROGRAM),
        ("drop_doc()\nkeep_doc()", CONFLICTING_DOC_CALLS),
        ("The document should not be dropped.", SYNTAX),
        ("drop_doc", SYNTAX),
        ("keep_doc()\nI would drop this", SYNTAX),
        ("drop_doc(True)", BAD_ARGUMENT),
        ("keep_chunk()", UNKNOWN_FUNCTION),
    ],
)
def test_an_invalid_doc_program_keeps_the_original(program, reason):
    # released: any output containing "drop" drops the document
    text = lines_doc(3)
    result = execute_doc_program(text, program)
    assert result.action == KEEP_ORIGINAL and result.reason == INVALID_DOC_PROGRAM and result.text == text
    assert result.errors[0].reason == reason
