"""The ProX program language: every call form parses, every malformed call names its reason."""
import random

import pytest

from core.prox.program import (
    BAD_ARGUMENT,
    CALL_TOO_LONG,
    NOT_TEXT,
    PROGRAM_TOO_LONG,
    SYNTAX,
    TOO_MANY_CALLS,
    UNKNOWN_FUNCTION,
    DropDoc,
    KeepChunk,
    KeepDoc,
    Normalize,
    ParseError,
    ProgramLimits,
    RemoveLines,
    format_call,
    format_program,
    format_str_literal,
    parse_call,
    parse_program,
)


@pytest.mark.parametrize(
    "source",
    [
        "remove_lines(line_start=3, line_end=5)",
        "remove_lines(3, 5)",
        "remove_lines(3, line_end=5)",
        "remove_lines(line_end=5, line_start=3)",
        "  remove_lines( line_start = 3 , line_end = 5 , )  ",
        "remove_lines(line_start=3, line_end=5)  # the menu",
        "remove_lines(0x3, 5)",
    ],
)
def test_remove_lines_keyword_positional_and_mixed_forms(source):
    assert parse_call(source) == RemoveLines(3, 5)


@pytest.mark.parametrize(
    "source",
    [
        'normalize(source_str="a, b", target_str="c")',
        "normalize('a, b', 'c')",
        "normalize('a, b', target_str='c')",
        'normalize(target_str="c", source_str="a" ", b")',
    ],
)
def test_normalize_forms_and_strings_with_commas(source):
    assert parse_call(source) == Normalize("a, b", "c")


def test_string_literals_mean_what_python_says():
    assert parse_call(r'normalize("\u00a0", " ")') == Normalize("\u00a0", " ")
    assert parse_call(r'normalize("say \"hi\"", "x")') == Normalize('say "hi"', "x")
    # an invalid escape keeps its backslash (as Python does today, and as the released parser does)
    assert parse_call(r'normalize("C:\data", "x")') == Normalize("C:\\data", "x")
    assert parse_call('normalize("  ", " ")') == Normalize("  ", " ")
    assert parse_call("normalize('x', '')") == Normalize("x", "")


def test_no_argument_calls_at_each_level():
    assert parse_call("keep_chunk()") == KeepChunk()
    assert parse_call("drop_doc()", level="doc") == DropDoc()
    assert parse_call("keep_doc( )", level="doc") == KeepDoc()


def _reason(source, level="chunk", limits=ProgramLimits()):
    with pytest.raises(ParseError) as info:
        parse_call(source, level, limits)
    return info.value.reason


@pytest.mark.parametrize(
    "source",
    [
        "remove_lines(line_start=3, line_end=5",
        'normalize(source_str="abc, target_str="x")',
        "keep_chunk",
        "keep_chunk() keep_chunk()",
        "remove_lines(1, 2); keep_chunk()",
        "x = remove_lines(1, 2)",
        "import os",
        "lambda: keep_chunk()",
        "[keep_chunk()]",
        "remove_lines(007, 9)",
        "remove_lines(" + "(" * 300 + "1" + ")" * 300 + ", 2)",
        "remove_lines(" + "-" * 3000 + "1, 2)",
        "keep_chunk()\x00",
        "```python",
    ],
)
def test_syntax_errors(source):
    assert _reason(source) == SYNTAX


def test_an_integer_past_pythons_digit_limit_is_a_syntax_error():
    limits = ProgramLimits(max_call_chars=10_000)
    assert _reason("remove_lines(" + "9" * 5_000 + ", 2)", limits=limits) == SYNTAX


@pytest.mark.parametrize(
    "source",
    [
        "drop_chunk()",
        "print('x')",
        "eval('1')",
        "__import__('os').system('echo pwned')",
        "os.system('x')",
        "remove_lines.__call__(1, 2)",
        "keep_chunk()()",
        "(lambda: 0)()",
        "globals()['x'](1)",
        "drop_doc()",  # a document-level call in a chunk program
    ],
)
def test_unknown_functions(source):
    assert _reason(source) == UNKNOWN_FUNCTION


def test_levels_do_not_mix_and_the_error_says_so():
    with pytest.raises(ParseError, match="document-level|doc-level"):
        parse_call("drop_doc()")
    assert _reason("keep_chunk()", level="doc") == UNKNOWN_FUNCTION
    assert _reason("remove_lines(1, 2)", level="doc") == UNKNOWN_FUNCTION
    with pytest.raises(ValueError):
        parse_call("keep_chunk()", level="line")


@pytest.mark.parametrize(
    "source",
    [
        "remove_lines(-1, 2)",
        "remove_lines(line_start=1.0, line_end=2)",
        "remove_lines(True, 2)",
        "remove_lines('1', 2)",
        "remove_lines(start, 2)",
        "remove_lines(1 + 1, 2)",
        "remove_lines(10**9, 2)",
        "remove_lines(int('1'), 2)",
        "remove_lines(1)",
        "remove_lines(1, 2, 3)",
        "remove_lines(line_start=1, line_stop=2)",
        "remove_lines(line_start=1, line_start=2)",
        "remove_lines(1, line_start=2)",
        "remove_lines(*[1, 2])",
        "remove_lines(**{'line_start': 1, 'line_end': 2})",
        "remove_lines(all=True)",
        'normalize(source_str=" ")',
        'normalize("x")',
        'normalize(" ", "_")',
        'normalize("", "x")',
        'normalize(source_str="a\\nb", target_str="a")',
        'normalize(source_str="a", target_str="a\\nb")',
        "normalize(f'{x}', 'y')",
        "normalize(b'x', 'y')",
        "normalize(1, 'y')",
        "normalize(x := 'a', 'y')",
        "keep_chunk(1)",
        "keep_chunk(all=True)",
    ],
)
def test_bad_arguments(source):
    assert _reason(source) == BAD_ARGUMENT


def test_one_argument_normalize_of_a_space_is_an_error_not_a_deletion():
    with pytest.raises(ParseError, match="missing target_str"):
        parse_call('normalize(" ")')


def test_a_call_over_the_line_limit_is_refused_before_parsing():
    limits = ProgramLimits(max_call_chars=50)
    assert _reason('normalize("' + "x" * 60 + '", "y")', limits=limits) == CALL_TOO_LONG


def test_program_lines_blank_lines_and_error_positions():
    program = "\n  remove_lines(line_start=0, line_end=1)\n\nnonsense(\nkeep_chunk()\r\n\nremove_lines(2, 1.5)\n"
    parsed = parse_program(program, chunk=4)
    assert parsed.calls == (RemoveLines(0, 1), KeepChunk())
    assert parsed.call_lines == (1, 4)
    assert [(e.reason, e.chunk, e.line) for e in parsed.errors] == [(SYNTAX, 4, 3), (BAD_ARGUMENT, 4, 6)]
    assert parse_program("") == parse_program(" \n\n\t") == parse_program("\n")
    assert parse_program("").calls == () and parse_program("").errors == ()


def test_program_size_and_call_count_limits_reject_the_whole_program():
    too_long = parse_program("keep_chunk()\n" * 10_000, chunk=0)
    assert too_long.calls == () and [e.reason for e in too_long.errors] == [PROGRAM_TOO_LONG]
    too_many = parse_program("keep_chunk()\n" * 1_025)
    assert too_many.calls == () and [e.reason for e in too_many.errors] == [TOO_MANY_CALLS]
    at_limit = parse_program("keep_chunk()\n" * 1_024)
    assert len(at_limit.calls) == 1_024 and at_limit.errors == ()
    huge = parse_program('normalize("' + "x" * 1_000_000 + '", "")')
    assert [e.reason for e in huge.errors] == [PROGRAM_TOO_LONG]


def test_a_program_that_is_not_text_is_an_error():
    for value in (None, b"keep_chunk()", 3):
        assert [e.reason for e in parse_program(value).errors] == [NOT_TEXT]


def _random_string(rng: random.Random) -> str:
    alphabet = ['"', "'", "\\", ",", " ", "\t", "\r", "\x00", "\xa0", "\u200b", "é", "中", "😀", "\ud800", "a", "}", "{"]
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))


def test_format_then_parse_round_trips_any_string_and_number():
    rng = random.Random(7)
    for _ in range(2_000):
        source = _random_string(rng)
        if source in ("", " "):
            continue
        calls = [Normalize(source, _random_string(rng)), RemoveLines(rng.randint(0, 10**6), rng.randint(0, 10**6))]
        for call in calls:
            assert parse_call(format_call(call)) == call
    assert format_call(RemoveLines(3, 5)) == "remove_lines(line_start=3, line_end=5)"
    assert format_call(Normalize("a\xa0", 'b"')) == 'normalize(source_str="a\\xa0", target_str="b\\"")'
    assert format_program([KeepChunk(), DropDoc()]) == "keep_chunk()\ndrop_doc()"
    assert format_str_literal("\U0001f600\u2028") == '"\U0001f600\\u2028"'
