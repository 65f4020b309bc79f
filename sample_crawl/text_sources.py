"""Real text that ships with Python or the project's runtime dependencies, read at build time.

Nothing is downloaded: Python's help topics (`pydoc_data.topics`), the docstrings of the standard
library (parsed with `ast`, never imported), Python's `LICENSE.txt`, the CJK sample texts of
CPython's codec tests, Babel's CLDR name lists, and the standard lorem ipsum filler.
Documentation text is reduced to its prose paragraphs (`prose_only`), so an article reads like a
web article rather than a code listing.
"""
from __future__ import annotations

import ast
import inspect
import os
import re
import sysconfig
from pathlib import Path

# The standard filler text (Cicero, de finibus, as typesetters have used it since the 1500s).
LOREM_IPSUM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut "
    "labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco "
    "laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in "
    "voluptate velit esse cillum dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat "
    "non proident, sunt in culpa qui officia deserunt mollit anim id est laborum.",
    "Sed ut perspiciatis unde omnis iste natus error sit voluptatem accusantium doloremque "
    "laudantium, totam rem aperiam, eaque ipsa quae ab illo inventore veritatis et quasi architecto "
    "beatae vitae dicta sunt explicabo. Nemo enim ipsam voluptatem quia voluptas sit aspernatur aut "
    "odit aut fugit, sed quia consequuntur magni dolores eos qui ratione voluptatem sequi nesciunt.",
    "At vero eos et accusamus et iusto odio dignissimos ducimus qui blanditiis praesentium "
    "voluptatum deleniti atque corrupti quos dolores et quas molestias excepturi sint occaecati "
    "cupiditate non provident, similique sunt in culpa qui officia deserunt mollitia animi, id est "
    "laborum et dolorum fuga.",
)

# CPython's codec-test texts (Lib/test/cjkencodings) by page key.
CJK_TEST_FILES = {"ja": "shift_jis-utf8.txt", "zh": "gb2312-utf8.txt", "zh-Hant": "big5-utf8.txt",
                  "ko": "euc_kr-utf8.txt"}

MIN_PROSE_ALPHA_SHARE = 0.85  # share of tokens with a letter for a paragraph to count as prose
_CODE_CHARACTERS = set("{}[]<>=|`*")
_ALPHA = re.compile(r"[^\W\d_]")
_TOKEN = re.compile(r"\w+|[^\w\s]")
_SKIP_STDLIB = {"test", "tests", "idlelib", "lib2to3", "site-packages", "dist-packages",
                "turtledemo", "ensurepip", "tkinter", "__phello__", "__pycache__"}


def stdlib_dir() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def prose_only(text: str) -> str:
    """The prose paragraphs of a documentation text, each unwrapped onto one line.

    Indented blocks (code, grammar, tables) and paragraphs that are mostly symbols are dropped, which
    FineWeb's filters would rightly reject; hard-wrapped lines are joined, as a browser renders a
    paragraph.
    """
    kept = []
    for block in re.split(r"\n\s*\n", text):
        if not block.strip() or block[:1] in (" ", "\t"):
            continue
        paragraph = " ".join(line.strip() for line in block.splitlines())
        if _is_prose(paragraph):
            kept.append(paragraph)
    return "\n\n".join(kept)


def _is_prose(paragraph: str) -> bool:
    tokens = _TOKEN.findall(paragraph)  # punctuation marks count as tokens, as in spaCy
    if not tokens:
        return False
    alpha = sum(1 for token in tokens if _ALPHA.search(token))
    return alpha / len(tokens) >= MIN_PROSE_ALPHA_SHARE and not _CODE_CHARACTERS & set(paragraph)


def pydoc_topics(min_words: int = 60) -> list[tuple[str, str]]:
    """(topic, prose of the text) of Python's help topics (pydoc_data.topics), sorted by topic."""
    from pydoc_data.topics import topics

    found = ((name, prose_only(text)) for name, text in topics.items())
    return sorted((name, text) for name, text in found if len(text.split()) >= min_words)


def module_docstrings(min_words: int = 60) -> list[tuple[str, str]]:
    """(module, prose) of standard-library modules: the module docstring followed by the prose of
    its public classes' and functions' docstrings, as a module's reference page reads; sorted."""
    root = stdlib_dir()
    found = []
    for path in _stdlib_sources(root):
        text = _module_prose(path)
        if text is not None and len(text.split()) >= min_words:
            module = ".".join(path.relative_to(root).with_suffix("").parts)
            found.append((module.removesuffix(".__init__"), text))
    return sorted(found)


def _stdlib_sources(root: Path):
    """The standard library's .py files in a stable order, without tests, demos and GUI code."""
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in _SKIP_STDLIB and not d.startswith("test"))
        for name in sorted(files):
            if name.endswith(".py") and not name.startswith("test"):
                yield Path(directory, name)


def _module_prose(path: Path) -> str | None:
    """The prose of a module's docstring and its public top-level docstrings; None if unparsable."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except (SyntaxError, ValueError):
        return None  # a deliberately broken file of the standard library (e.g. a bad-syntax sample)
    docs = [ast.get_docstring(tree)] + [
        ast.get_docstring(node) for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_")
    ]
    text = "\n\n".join(prose_only(inspect.cleandoc(d)) for d in docs if d)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def python_license_sections() -> list[tuple[str, str]]:
    """(heading, text) of the sections of Python's LICENSE.txt that have a dashed heading."""
    path = stdlib_dir() / "LICENSE.txt"
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    parts = re.split(r"\n([A-Z][A-Z0-9 .,()/-]{8,})\n-{5,}\n", "\n" + text)
    return [(parts[i].strip().title(), parts[i + 1].strip()) for i in range(1, len(parts) - 1, 2)
            if len(parts[i + 1].split()) >= 40]


def cjk_texts() -> dict[str, str]:
    """Real Japanese, Chinese and Korean prose from CPython's codec tests, when installed."""
    folder = stdlib_dir() / "test" / "cjkencodings"
    texts = {}
    for key, name in CJK_TEST_FILES.items():
        path = folder / name
        if path.exists():
            raw = path.read_bytes().decode("utf-8", errors="replace")
            lines = [line for line in raw.splitlines() if "\ufffd" not in line]
            texts[key] = "\n".join(lines).strip()
    return texts


def babel_name_lists(locale_code: str) -> list[tuple[str, str]]:
    """Two (title, text) pages in a language from Babel's CLDR data: countries and languages."""
    from babel import Locale
    from babel.lists import format_list

    locale = Locale.parse(locale_code)

    def prose(names: list[str]) -> str:
        chunks = [names[i:i + 12] for i in range(0, len(names), 12)]
        return "\n\n".join(format_list(chunk, locale=locale) + "." for chunk in chunks if len(chunk) > 1)

    territories = sorted(n for code, n in locale.territories.items() if code.isalpha())
    languages = sorted(n for code, n in locale.languages.items() if len(code) == 2)
    world = locale.territories.get("001", locale_code)
    return [(f"{locale.display_name}: {world}", prose(territories)),
            (f"{locale.display_name}: {locale.languages.get(locale_code, locale_code)}",
             prose(languages))]


def fallback_cjk_text(key: str) -> str:
    """Babel's country names for a CJK language when CPython's test texts are not installed."""
    return babel_name_lists({"zh-Hant": "zh_Hant"}.get(key, key))[0][1]
