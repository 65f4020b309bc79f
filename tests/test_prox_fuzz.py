"""Fuzz the ProX parser and executor with 10,000+ random and adversarial programs.

Nothing a program says is executed: an audit hook and patched builtins record every exec, eval,
import, file open, process start and socket call made while the executor runs, and compile() may
only build syntax trees. The executor never raises, every error has a known reason, an invalid call
never changes the text, a program with two errors (or no valid call) leaves the text as it was, and
the result equals a small independent interpreter of the parsed calls. Deterministic (fixed seed).
"""
from __future__ import annotations

import ast
import builtins
import contextlib
import random
import sys
import threading

import pytest

from core.prox import execute as prox_execute
from core.prox import program as prox_program
from core.prox.chunks import chunk_document
from core.prox.execute import ACTIONS, DROP, KEEP, KEEP_ORIGINAL, REFINE, ExecutionParams
from core.prox.program import DropDoc, KeepChunk, Normalize, RemoveLines, format_call, parse_call

SEED = 20240917
N_RANDOM_PROGRAMS = 10_000
SENTINEL: list[str] = []  # injection programs try to append to this; nothing may

_AUDIT = {"thread": None, "events": []}
_FORBIDDEN_EVENTS = ("exec", "import", "open", "os.", "subprocess.", "socket.", "shutil.", "ctypes.", "builtins.input")


def _audit_hook(event: str, args) -> None:
    if _AUDIT["thread"] == threading.get_ident() and event.startswith(_FORBIDDEN_EVENTS):
        _AUDIT["events"].append((event, repr(args)[:200]))


_HOOK_INSTALLED = []
_COMPILER_IMPORTS = {"unicodedata"}


@contextlib.contextmanager
def execution_guard():
    """Record forbidden events and builtin calls made on this thread inside the block.

    Only the executor runs inside: pytest itself imports and opens files when it reports.
    """
    if not _HOOK_INSTALLED:
        sys.addaudithook(_audit_hook)  # cannot be removed; inert outside this guard
        _HOOK_INSTALLED.append(True)
    calls: list[str] = []
    real_compile = builtins.compile

    def forbidden(name):
        def record(*args, **kwargs):
            calls.append(name)
            raise RuntimeError(f"{name} reached during ProX execution")

        return record

    real_import = builtins.__import__

    def compiler_import(name, *args, **kwargs):
        # CPython's parser itself imports `unicodedata` for \N{...} escapes and non-ASCII names
        if name in _COMPILER_IMPORTS:
            return real_import(name, *args, **kwargs)
        return forbidden("__import__")(name)

    def ast_only_compile(source, filename, mode, flags=0, *args, **kwargs):
        if not flags & ast.PyCF_ONLY_AST:
            calls.append("compile to code")
            raise RuntimeError("compile() to code during ProX execution")
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    names = ("eval", "exec", "__import__", "open", "input", "breakpoint", "compile")
    saved = {name: getattr(builtins, name) for name in names}
    for name in names:
        setattr(builtins, name, forbidden(name))
    builtins.compile = ast_only_compile
    builtins.__import__ = compiler_import
    _AUDIT["events"].clear()
    _AUDIT["thread"] = threading.get_ident()
    try:
        yield calls
    finally:
        _AUDIT["thread"] = None
        for name, value in saved.items():
            setattr(builtins, name, value)


# --- programs ------------------------------------------------------------------------------------

INJECTIONS = [
    "__import__('os').system('touch /tmp/prox_pwned')",
    "exec(\"import tests.test_prox_fuzz as t; t.SENTINEL.append('exec')\")",
    "eval('SENTINEL.append(1)')",
    "remove_lines(line_start=SENTINEL.append('arg') or 1, line_end=2)",
    "remove_lines(line_start=__import__('os').getpid(), line_end=2)",
    "normalize(source_str=open('/etc/passwd').read(), target_str='x')",
    "normalize(source_str=(lambda: SENTINEL.append('lambda'))(), target_str='x')",
    "normalize(source_str=f'{SENTINEL.append(9)}', target_str='x')",
    "normalize(source_str='a', target_str=globals()['SENTINEL'].append('g'))",
    "keep_chunk(*[SENTINEL.append('star')])",
    "keep_chunk(**{'x': SENTINEL.append('kw')})",
    "remove_lines.__globals__['__builtins__']['exec']('SENTINEL.append(1)')",
    "().__class__.__base__.__subclasses__()",
    "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'Popen'][0](['id'])",
    "keep_chunk() if SENTINEL.append('if') else keep_chunk()",
    "keep_chunk()\nimport os\nos.system('id')",
    "keep_chunk(); SENTINEL.append('semicolon')",
    "breakpoint()",
    "input()",
    "remove_lines(line_start=1, line_end=2) or SENTINEL.append('or')",
    "normalize(source_str='a', target_str='b')[SENTINEL.append('sub')]",
    "getattr(__builtins__, 'exec')('SENTINEL.append(1)')",
    "type('X', (), {'__del__': lambda s: SENTINEL.append('del')})()",
    "compile('SENTINEL.append(1)', 'x', 'exec')",
    "__builtins__.__dict__['exec']('1')",
    "remove_lines(line_start=0x10, line_end=0o20)",
    "remove_lines(line_start=1_0, line_end=1e3)",
    "remove_lines(line_start=1j, line_end=2)",
    "normalize(source_str='\\N{BULLET}', target_str='*')",
    "normalize(source_str=\"\"\"a\"\"\", target_str='''b''')",
    "normalize(source_str=r'\\d+', target_str='#')",
    "normalize(source_str=u'x', target_str=b'y')",
    "drop_doc()",
    "keep_doc()",
]

_CHARS = list("()'\",=\\#*[]{}:;. _-+0123456789abcdefghijklmnopqrstuvwxyz\t\r") + [
    "\n", "\x00", "\x0c", "\xa0", "\u200b", "\u2028", "\ufeff", "é", "中", "😀", "\ud800", "\U000e0001",
]
_NUMBERS = [0, 1, 2, 3, 5, 7, 8, 9, 10, 11, 29, 30, 31, 100, 999, 1000, 2**31, 2**63, 10**40]
_NUMBER_TEXT = ["-1", "-0", "+3", "1.0", "1e3", "True", "None", "x", "'3'", "3j", "0b11", "(3)", "[3]", "2**8", "len('ab')"]


def _string_literal(rng: random.Random) -> str:
    body = "".join(rng.choice(_CHARS) for _ in range(rng.randint(0, 8)))
    quote = rng.choice(['"', "'", '"""', "'''", 'r"', "f'", 'b"'])
    closing = quote[-1] * (3 if len(quote) == 3 else 1)
    return quote + body + (closing if rng.random() < 0.9 else "")


def _number_text(rng: random.Random) -> str:
    return str(rng.choice(_NUMBERS)) if rng.random() < 0.75 else rng.choice(_NUMBER_TEXT)


def _call_text(rng: random.Random) -> str:
    name = rng.choice(["remove_lines"] * 4 + ["normalize"] * 4 + ["keep_chunk", "drop_doc", "keep_doc", "remove_line", "Normalize"])
    if name.lower().startswith("remove"):
        values, keys = [_number_text(rng), _number_text(rng)], ["line_start", "line_end"]
    elif name.lower() == "normalize":
        values, keys = [_string_literal(rng), _string_literal(rng)], ["source_str", "target_str"]
    else:
        values, keys = [], []
    if values and rng.random() < 0.15:
        values = values[: rng.randint(0, len(values))] + [_number_text(rng)] * rng.randint(0, 2)
    args = []
    for i, value in enumerate(values):
        style = rng.random()
        if i < len(keys) and style < 0.6:
            args.append(f"{keys[i]}={value}")
        elif i < len(keys) and style < 0.65:
            args.append(f"{rng.choice(keys + ['all', 'line', 'x'])}={value}")
        else:
            args.append(value)
    return f"{name}({', '.join(args)})"


def _mutate(rng: random.Random, text: str) -> str:
    for _ in range(rng.randint(1, 3)):
        if not text:
            break
        i = rng.randrange(len(text))
        roll = rng.random()
        if roll < 0.35:
            text = text[:i] + text[i + 1 :]
        elif roll < 0.75:
            text = text[:i] + rng.choice(_CHARS) + text[i:]
        else:
            j = rng.randint(i, min(len(text), i + 12))
            text = text[:i] + text[i:j] * rng.randint(2, 4) + text[j:]
    return text


def _random_line(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.45:
        return _call_text(rng)
    if roll < 0.75:
        return _mutate(rng, _call_text(rng))
    if roll < 0.85:
        return rng.choice(INJECTIONS)
    if roll < 0.92:
        return "".join(rng.choice(_CHARS) for _ in range(rng.randint(0, 40)))
    return rng.choice(["", "   ", "keep_chunk()", "```python", "```", "# remove the menu", "[/doc]", "None"])


def random_programs(rng: random.Random, n: int) -> list[str]:
    return ["\n".join(_random_line(rng) for _ in range(rng.randint(1, 6))) for _ in range(n)]


def special_programs() -> list[str]:
    return INJECTIONS + [
        "keep_chunk()\n" * 10_000,
        "remove_lines(line_start=0, line_end=1)\n" * 10_000,
        "keep_chunk()\n" * 1_025,
        'normalize(source_str="' + "x" * 1_000_000 + '", target_str="")',
        'normalize(source_str="' + "é" * 5_000 + '", target_str="")',
        "remove_lines(" + "(" * 5_000 + "1" + ")" * 5_000 + ", 2)",
        "remove_lines(" + "-" * 4_000 + "1, 2)",
        "remove_lines(" + "[" * 1_000 + ", 2)",
        "remove_lines(line_start=" + "9" * 4_000 + ", line_end=2)",
        'normalize(source_str="unterminated, target_str="x")',
        "normalize(source_str='''never closed",
        "normalize('a', 'b'" * 500,
        "\x00" * 100,
        "\ud800\udfff" * 10,
        "\n" * 100_000,
        " " * 32_768,
        "remove_lines(line_start=5, line_end=3)\nremove_lines(line_start=-1, line_end=3)",
        "remove_lines(line_start=0, line_end=10**9)",
        'normalize(" ")',
        'normalize(source_str=" ", target_str="")',
        'normalize(source_str="w", target_str="' + "w" * 4_000 + '")\n' * 30,
    ]


# --- an independent interpreter of parsed calls (single chunk) --------------------------------------

def _oracle(text: str, calls, first: int, last: int, params: ExecutionParams) -> tuple[str, int]:
    """(text, errors) from applying parsed calls with the documented semantics, by sets not merges."""
    errors, removed, current = 0, set(), text
    for call in calls:
        if isinstance(call, RemoveLines):
            if call.line_start <= call.line_end and first <= call.line_start and call.line_end <= last:
                removed.update(range(call.line_start, call.line_end + 1))
            else:
                errors += 1
        elif isinstance(call, Normalize):
            grown = current.replace(call.source_str, call.target_str)
            if len(grown) > len(text) + params.max_growth_chars:
                errors += 1
            else:
                current = grown
    lines = current.split("\n")
    return "\n".join(line for i, line in enumerate(lines) if i not in removed), errors


DOCUMENT = "\n".join(
    f"Line {i} of a test document, with commas, quotes \" ' and symbols {{}} [x] (y) é 中 a w." for i in range(30)
)


def _check_chunk_result(program: str, result, chunks, target: int, params: ExecutionParams) -> None:
    assert result.action in ACTIONS
    assert all(error.reason.startswith("prox.") for error in result.errors)
    for call in result.calls:
        assert parse_call(format_call(call)) == call
    if len(result.errors) >= params.error_op:
        assert result.action == KEEP_ORIGINAL and result.text == DOCUMENT
        return
    if not any(isinstance(call, (RemoveLines, Normalize)) for call in result.calls):
        assert result.action == KEEP and result.text == DOCUMENT
        return
    chunk = chunks[target]
    expected, oracle_errors = _oracle(DOCUMENT, result.calls, chunk.first_line, chunk.last_line, params)
    parse_errors = [e for e in result.errors if e.reason in _PARSE_REASONS]
    assert len(result.errors) == len(parse_errors) + oracle_errors
    if result.action in (REFINE, KEEP):
        assert result.text == expected
    else:
        assert result.action == DROP and result.text == ""
        assert len(expected.split()) <= max(10, 0.05 * len(DOCUMENT.split()))


_PARSE_REASONS = {
    prox_program.SYNTAX, prox_program.UNKNOWN_FUNCTION, prox_program.BAD_ARGUMENT, prox_program.CALL_TOO_LONG,
    prox_program.PROGRAM_TOO_LONG, prox_program.TOO_MANY_CALLS, prox_program.NOT_TEXT,
}


def _check_doc_result(result) -> None:
    assert result.action in (DROP, KEEP, KEEP_ORIGINAL)
    if result.errors:
        assert result.action == KEEP_ORIGINAL and result.text == DOCUMENT
    elif result.action == DROP:
        assert set(result.calls) == {DropDoc()} and result.text == ""
    else:
        assert result.text == DOCUMENT


def _run_all(programs, layouts, params):
    results = []
    with execution_guard() as reached:
        for program, (chunks, target) in zip(programs, layouts):
            chunk_programs = ["keep_chunk()"] * len(chunks)
            chunk_programs[target] = program
            try:
                chunk_result = prox_execute.execute_chunk_programs(DOCUMENT, chunks, chunk_programs, params)
                doc_result = prox_execute.execute_doc_program(DOCUMENT, program, params)
            except Exception as exc:  # collected, reported outside the guard
                chunk_result = doc_result = exc
            results.append((chunk_result, doc_result))
    events = list(_AUDIT["events"])
    return results, reached, events


def test_fuzzed_programs_execute_nothing_never_raise_and_never_apply_invalid_calls():
    rng = random.Random(SEED)
    params = ExecutionParams(max_growth_chars=2_000)
    three_chunks = chunk_document(DOCUMENT, lambda s: 1, max_tokens=10)
    one_chunk = chunk_document(DOCUMENT, lambda s: 1, max_tokens=30)
    assert len(three_chunks) == 3 and len(one_chunk) == 1
    programs = special_programs() + random_programs(rng, N_RANDOM_PROGRAMS)
    layouts = [(three_chunks, rng.randrange(3)) if rng.random() < 0.7 else (one_chunk, 0) for _ in programs]
    results, reached, events = _run_all(programs, layouts, params)
    assert SENTINEL == [] and reached == [] and events == []
    assert len(programs) >= 10_000
    raised = [(program[:80], result) for program, (result, _) in zip(programs, results) if isinstance(result, Exception)]
    assert raised == []
    reasons: dict[str, int] = {}
    actions: dict[str, int] = {}
    for program, (chunks, target), (chunk_result, doc_result) in zip(programs, layouts, results):
        _check_chunk_result(program, chunk_result, chunks, target, params)
        _check_doc_result(doc_result)
        actions[chunk_result.action] = actions.get(chunk_result.action, 0) + 1
        for error in chunk_result.errors:
            reasons[error.reason] = reasons.get(error.reason, 0) + 1
    # the fuzz reached every outcome and every error reason, so the checks above were exercised
    assert set(actions) == {DROP, REFINE, KEEP, KEEP_ORIGINAL}
    assert set(reasons) >= {
        prox_program.SYNTAX, prox_program.UNKNOWN_FUNCTION, prox_program.BAD_ARGUMENT,
        prox_program.PROGRAM_TOO_LONG, prox_program.TOO_MANY_CALLS,
        prox_execute.REVERSED_RANGE, prox_execute.LINE_OUT_OF_RANGE, prox_execute.NORMALIZE_GROWTH,
    }


def test_the_guard_would_notice_execution():
    """The guard is real: code that does execute is caught by the patched builtins and the hook."""
    with execution_guard() as reached:
        for probe in (lambda: eval("1"), lambda: compile("SENTINEL.append(1)", "<x>", "exec")):
            try:
                probe()
            except RuntimeError:
                pass
        sys.audit("exec", "probe")
        parsed = parse_call("keep_chunk()")
        events = [event for event, _ in _AUDIT["events"]]
    assert reached == ["eval", "compile to code"] and events == ["exec"] and parsed == KeepChunk()
