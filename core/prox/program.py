"""The ProX program language: calls, parser and printer.

Document level: `drop_doc()`, `keep_doc()`. Chunk level: `remove_lines(line_start=, line_end=)`
(0-based, inclusive, numbered as in the prompt), `normalize(source_str=, target_str=)` and
`keep_chunk()`. Arguments may be given by keyword or by position, as Python binds them.

How a program is read (ours; the released `utils/chunk_utils.py` does it differently, see below):
- A program is text with one call per line; lines are stripped and blank lines ignored.
- A program longer than `ProgramLimits.max_program_chars`, or with more than `max_calls`
  non-blank lines, is rejected whole with one error (`prox.program_too_long`,
  `prox.too_many_calls`) before any line is parsed, so a megabyte or ten-thousand-call program
  costs one length check and one line count.
- Each line is parsed by `ast.parse(line, mode="eval")` (which builds a syntax tree and executes
  nothing) and must be exactly one call of a plain name of this level's language whose
  arguments are `ast.Constant` nodes of the right type. Names, attributes, subscripts, nested
  calls, operators (so also `-1` and `10**9`), `*args`/`**kwargs`, f-strings and comprehensions
  are rejected; nothing from the program text is ever evaluated, executed or compiled to code.
- A line that is not a valid call is an error with a stable reason (`prox.syntax`,
  `prox.unknown_function`, `prox.bad_argument`, `prox.call_too_long`); it is never guessed at.

Deliberate differences from the released parser (`execute_operations` in `utils/chunk_utils.py`):
- Released splits arguments on commas and takes the text between the quotes, so a string with a
  comma breaks and escapes are not processed; here string literals mean what Python says they
  mean (`"a, b"` is one argument, `"\\u00a0"` is a no-break space). Python's invalid escapes
  such as `"\\d"` keep the backslash, which is also what the released code does.
- Released accepts only the keyword form of `remove_lines`; both forms are accepted here.
- Released ignores any line that starts with neither `remove_lines` nor `normalize` (so garbage,
  markdown fences and `keep_chunk()` are all silently skipped); here `keep_chunk()` is a call and
  anything else that is not blank is counted as an error.
- Released `normalize` with one argument deletes every occurrence of it (`normalize(" ")` deletes
  every space) and skips a two-argument call whose source is `" "` or `""` without counting an
  error; here one argument is `prox.bad_argument`, and so is a source of `""` or `" "`.
- A `normalize` source or target containing a newline is `prox.bad_argument`: the released
  parser can never produce one (it splits the program on newlines first), and one would shift the
  line numbers that `remove_lines` refers to.
- Released `remove_lines(all=True)` removes every line of the document; it is not part of the
  language given to the models and is `prox.bad_argument` here.
- Released `drop_doc` handling is `"drop" in program`; here the document program is parsed like
  any other (see `execute.execute_doc_program`).
"""
from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass

CHUNK_LEVEL = "chunk"
DOC_LEVEL = "doc"
LEVELS = (CHUNK_LEVEL, DOC_LEVEL)

SYNTAX = "prox.syntax"
UNKNOWN_FUNCTION = "prox.unknown_function"
BAD_ARGUMENT = "prox.bad_argument"
CALL_TOO_LONG = "prox.call_too_long"
PROGRAM_TOO_LONG = "prox.program_too_long"
TOO_MANY_CALLS = "prox.too_many_calls"
NOT_TEXT = "prox.not_text"


@dataclass(frozen=True)
class RemoveLines:
    line_start: int
    line_end: int


@dataclass(frozen=True)
class Normalize:
    source_str: str
    target_str: str


@dataclass(frozen=True)
class KeepChunk:
    pass


@dataclass(frozen=True)
class DropDoc:
    pass


@dataclass(frozen=True)
class KeepDoc:
    pass


Call = RemoveLines | Normalize | KeepChunk | DropDoc | KeepDoc

# name -> (class, ((parameter, type), ...)) per level; parameter order is the positional order.
_LANGUAGE: dict[str, dict[str, tuple[type, tuple[tuple[str, type], ...]]]] = {
    CHUNK_LEVEL: {
        "remove_lines": (RemoveLines, (("line_start", int), ("line_end", int))),
        "normalize": (Normalize, (("source_str", str), ("target_str", str))),
        "keep_chunk": (KeepChunk, ()),
    },
    DOC_LEVEL: {
        "drop_doc": (DropDoc, ()),
        "keep_doc": (KeepDoc, ()),
    },
}
_NAME_OF = {cls: name for level in _LANGUAGE.values() for name, (cls, _) in level.items()}
_FIELDS_OF = {cls: params for level in _LANGUAGE.values() for cls, params in level.values()}


@dataclass(frozen=True)
class ProgramLimits:
    # Not in ProX, which bounds programs only by max new tokens (chunk 256, document 2,000): an
    # upper bound on the work one program text can cause, far above what either stage emits.
    max_program_chars: int = 32_768
    max_calls: int = 1_024  # non-blank lines of one program
    max_call_chars: int = 4_096  # one line


class ParseError(ValueError):
    """A line that is not a valid call; `reason` is a stable name like `prox.bad_argument`."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ProgramError:
    reason: str
    detail: str
    chunk: int | None = None  # index of the chunk whose program it is (chunk programs)
    line: int | None = None  # 0-based line of the program text; None for the whole program


@dataclass(frozen=True)
class ParsedProgram:
    calls: tuple[Call, ...]
    call_lines: tuple[int, ...]  # program line of each call, parallel to `calls`
    errors: tuple[ProgramError, ...]


def _check_level(level: str) -> dict[str, tuple[type, tuple[tuple[str, type], ...]]]:
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    return _LANGUAGE[level]


def _parse_expression(source: str) -> ast.expr:
    try:
        with warnings.catch_warnings():  # invalid escapes keep their backslash, whatever -W says
            warnings.simplefilter("ignore")
            return ast.parse(source, mode="eval").body
    except Exception as exc:  # SyntaxError, ValueError (null bytes, digit limit), RecursionError, ...
        raise ParseError(SYNTAX, f"{type(exc).__name__}: {str(exc)[:200]}") from None


def _describe(node: ast.expr) -> str:
    if isinstance(node, ast.Constant):
        return f"{type(node.value).__name__} {repr(node.value)[:60]}"
    return f"a {type(node).__name__} expression"


def _literal(name: str, node: ast.expr, kind: type) -> int | str:
    if not isinstance(node, ast.Constant) or type(node.value) is not kind:
        expected = "a non-negative integer" if kind is int else "a string"
        raise ParseError(BAD_ARGUMENT, f"{name} must be {expected} literal, got {_describe(node)}")
    value = node.value
    if kind is int and value < 0:
        raise ParseError(BAD_ARGUMENT, f"{name} must be a non-negative integer literal, got {value}")
    if kind is str and "\n" in value:
        raise ParseError(BAD_ARGUMENT, f"{name} must not contain a newline (it would renumber lines)")
    return value


def _bind(name: str, call: ast.Call, params: tuple[tuple[str, type], ...]) -> dict[str, int | str]:
    if any(isinstance(arg, ast.Starred) for arg in call.args):
        raise ParseError(BAD_ARGUMENT, f"{name}() takes no *arguments")
    if len(call.args) > len(params):
        raise ParseError(BAD_ARGUMENT, f"{name}() takes {len(params)} arguments, got {len(call.args)} positional")
    bound: dict[str, int | str] = {}
    for (param, kind), node in zip(params, call.args):
        bound[param] = _literal(param, node, kind)
    kinds = dict(params)
    for keyword in call.keywords:
        if keyword.arg is None:
            raise ParseError(BAD_ARGUMENT, f"{name}() takes no **arguments")
        if keyword.arg not in kinds:
            raise ParseError(BAD_ARGUMENT, f"{name}() has no argument {keyword.arg!r}")
        if keyword.arg in bound:
            raise ParseError(BAD_ARGUMENT, f"{name}() got {keyword.arg!r} twice")
        bound[keyword.arg] = _literal(keyword.arg, keyword.value, kinds[keyword.arg])
    missing = [param for param, _ in params if param not in bound]
    if missing:
        raise ParseError(BAD_ARGUMENT, f"{name}() is missing {', '.join(missing)}")
    return bound


def _check_normalize(bound: dict[str, int | str]) -> None:
    if bound["source_str"] in ("", " "):
        raise ParseError(BAD_ARGUMENT, f"normalize() source_str {bound['source_str']!r} would rewrite every gap")


def parse_call(source: str, level: str = CHUNK_LEVEL, limits: ProgramLimits = ProgramLimits()) -> Call:
    """One call of `level`'s language from one line of program text; raises ParseError."""
    language = _check_level(level)
    source = source.strip()
    if len(source) > limits.max_call_chars:
        raise ParseError(CALL_TOO_LONG, f"{len(source)} characters > {limits.max_call_chars}")
    node = _parse_expression(source)
    if not isinstance(node, ast.Call):
        raise ParseError(SYNTAX, f"not a call but {_describe(node)}")
    if not isinstance(node.func, ast.Name):
        raise ParseError(UNKNOWN_FUNCTION, f"the callee is {_describe(node.func)}, not a plain name")
    name = node.func.id
    if name not in language:
        other = next((lvl for lvl in LEVELS if lvl != level and name in _LANGUAGE[lvl]), None)
        where = f" (a {other}-level call)" if other else ""
        raise ParseError(UNKNOWN_FUNCTION, f"{name!r} is not a {level}-level call{where}")
    cls, params = language[name]
    bound = _bind(name, node, params)
    if cls is Normalize:
        _check_normalize(bound)
    return cls(**bound)


def parse_program(
    program: str, level: str = CHUNK_LEVEL, limits: ProgramLimits = ProgramLimits(), chunk: int | None = None
) -> ParsedProgram:
    """Every call of a program, and an error for every line that is not one. Never raises on text."""
    _check_level(level)
    if not isinstance(program, str):
        return ParsedProgram((), (), (ProgramError(NOT_TEXT, f"program is {type(program).__name__}", chunk),))
    if len(program) > limits.max_program_chars:
        detail = f"{len(program)} characters > {limits.max_program_chars}"
        return ParsedProgram((), (), (ProgramError(PROGRAM_TOO_LONG, detail, chunk),))
    numbered = [(i, line.strip()) for i, line in enumerate(program.split("\n"))]
    numbered = [(i, line) for i, line in numbered if line]
    if len(numbered) > limits.max_calls:
        detail = f"{len(numbered)} non-blank lines > {limits.max_calls}"
        return ParsedProgram((), (), (ProgramError(TOO_MANY_CALLS, detail, chunk),))
    calls, lines, errors = [], [], []
    for i, line in numbered:
        try:
            calls.append(parse_call(line, level, limits))
            lines.append(i)
        except ParseError as exc:
            errors.append(ProgramError(exc.reason, exc.detail, chunk, i))
    return ParsedProgram(tuple(calls), tuple(lines), tuple(errors))


def format_str_literal(value: str) -> str:
    """A double-quoted Python string literal for `value` (non-printable characters escaped)."""
    out = []
    for char in value:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        elif ord(char) <= 0xFF:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


def format_call(call: Call) -> str:
    """The keyword form of a call, as the released models write it: `remove_lines(line_start=3, line_end=5)`."""
    params = _FIELDS_OF[type(call)]
    args = []
    for param, kind in params:
        value = getattr(call, param)
        args.append(f"{param}={format_str_literal(value) if kind is str else value}")
    return f"{_NAME_OF[type(call)]}({', '.join(args)})"


def format_program(calls: tuple[Call, ...] | list[Call]) -> str:
    return "\n".join(format_call(call) for call in calls)
