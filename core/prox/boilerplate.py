"""What a line of extracted web text is, for the rule-based ProX program writer.

A line is `blank`, `boilerplate` (a named rule below matched), `prose` (sentence-like or long) or
`other` (short headings, list items, table cells, bylines: kept unless a run rule removes them).
Phrase rules apply only to short lines, banner rules (cookies, copyright) to lines up to a
paragraph long, so a sentence that merely mentions "share" or "cookies" stays prose. Thresholds
are ours, chosen on the real Common Crawl fixtures; ProX itself learns these decisions.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

BLANK = "blank"
BOILERPLATE = "boilerplate"
PROSE = "prose"
OTHER = "other"

# sentence ends in Latin, CJK, Arabic, Devanagari and Armenian scripts
TERMINAL_PUNCTUATION = (".", "!", "?", "…", "。", "！", "？", "؟", "।", "։")
CLOSING_MARKS = "\"'”’»)]」』）】"


@dataclass(frozen=True)
class LineRuleParams:
    prose_min_words: int = 5  # a line ending like a sentence with this many words is prose
    prose_min_chars: int = 20  # ... or this many characters (scripts written without spaces)
    long_line_words: int = 25  # a line this long is prose even without a sentence end
    long_line_chars: int = 150
    phrase_max_words: int = 15  # share / login / read-more rules only match lines this short
    banner_max_words: int = 80  # cookie and copyright rules match lines up to this long
    menu_min_items: int = 3  # "Home | About | Contact": at least this many items ...
    menu_item_max_words: int = 4  # ... of at most this many words each


def _rx(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.IGNORECASE)


# rule name -> pattern; matched against the stripped line
PHRASE_RULES: dict[str, re.Pattern] = {
    "skip_link": _rx(r"^(skip|jump) to (the )?(main )?(content|navigation|search|footer|menu)\b"
                     r"|^toggle (navigation|menu)\b|^(main )?(menu|navigation)$|^back to top\b"),
    "share": _rx(r"^(share|tweet|pin it|e-?mail|print)( (this|it|on|via|article|page|story|post)\b|\s*:|$)"
                 r"|^(?:(?:facebook|twitter|pinterest|linkedin|instagram|youtube|reddit|tumblr|whatsapp|"
                 r"telegram|google\+?|rss|e-?mail|print|share|tweet)\W*){2,}$"),
    "account": _rx(r"^(log ?in|log ?out|sign ?in|sign ?out|sign ?up|register|my account|create (an )?account"
                   r"|forgot (your )?password)\b"),
    "subscribe": _rx(r"^(subscribe|follow us|like us on|join our (mailing list|newsletter))\b"
                     r"|^sign up (for|to) (our |the )?(free )?(e-?mail )?newsletters?\b"),
    "read_more": _rx(r"^(read more|continue reading|click here|view (all )?comments|load more|show more"
                     r"|see more|view all|more from)\b"),
    "post_navigation": _rx(r"^(previous|next|older|newer) (article|post|story|page|entry|entries|posts)\b"
                           r"|^related( posts| articles| stories)?:?$|^recent (posts|comments)\b"
                           r"|^be the first to comment\b|^no comments( yet)?\b|^\d+ comments?$"
                           r"|^(tags|tagged|categories|filed under)\s*:"),
    "footer_link": _rx(r"^(privacy (policy|statement|notice)|terms (of (use|service))|terms (&|and) conditions"
                       r"|cookie (policy|settings)|contact us|about us|advertise( with us)?|site ?map"
                       r"|accessibility( statement)?|all contests|contest rules)$"),
}
# comment forms are distinctive enough to match lines of any length up to banner_max_words
COMMENT_FORM = _rx(r"leave a (reply|comment)|post a comment|notify me of (new|follow-?up)"
                   r"|you are commenting using|enter your comment|comments are closed"
                   r"|your e-?mail address will not be published|required fields are marked"
                   r"|^(name|e-?mail|website)\s*(\*|\(required\))|\blog ?in\b.{0,40}\b(reply|comment)")
SCRIPT = _rx(r"adsbygoogle|document\.write\(|\bwindow\.\w+\s*=|\bfunction\s*\([^)]*\)\s*\{|</?script\b"
            r"|\b(enable|turn on) javascript\b|\bjavascript (is )?(disabled|required|turned off)\b")
COOKIE_WORD = _rx(r"\bcookies?\b")
COOKIE_CONTEXT = _rx(r"\b(we use|(this|our) (web)?site uses|uses cookies|accept|consent|by continuing|browsing"
                     r"|privacy (policy|settings)|cookie (policy|settings|preferences))\b")
COPYRIGHT = _rx(r"^(©|\(c\)\s*\d{4}|copyright\b)|©\s*\d{4}|\ball rights reserved\b|^powered by\b")
# "|" anywhere; bullets, guillemets, ">" and "/" only between spaces (so "col·lecció" is one word)
MENU_SEPARATOR = re.compile(r"\s*\|\s*|(?:^|\s)[•·»›>/](?=\s|$)\s*")


def words_of(line: str) -> list[str]:
    return line.split()


def ends_like_sentence(line: str) -> bool:
    return line.rstrip().rstrip(CLOSING_MARKS).endswith(TERMINAL_PUNCTUATION)


def is_menu(line: str, params: LineRuleParams = LineRuleParams()) -> bool:
    """Three or more short items between separators: `Home | About | Contact`, breadcrumbs."""
    items = [item for item in MENU_SEPARATOR.split(line.strip()) if item]
    if len(items) < params.menu_min_items:
        return False
    return all(len(words_of(item)) <= params.menu_item_max_words for item in items)


def boilerplate_rule(line: str, params: LineRuleParams = LineRuleParams()) -> str | None:
    """The name of the boilerplate rule a line matches, or None."""
    stripped = line.strip()
    if not stripped:
        return None
    n_words = len(words_of(stripped))
    if n_words <= params.banner_max_words:
        if COOKIE_WORD.search(stripped) and COOKIE_CONTEXT.search(stripped):
            return "cookie_banner"
        if COPYRIGHT.search(stripped):
            return "copyright"
        if COMMENT_FORM.search(stripped):
            return "comment_form"
        if SCRIPT.search(stripped):
            return "script"
    if n_words <= params.phrase_max_words:
        for name, pattern in PHRASE_RULES.items():
            if pattern.search(stripped):
                return name
    if is_menu(stripped, params):
        return "menu"
    return None


def is_prose(line: str, params: LineRuleParams = LineRuleParams()) -> bool:
    """Sentence-like (a sentence end and enough words or characters) or simply long."""
    stripped = line.strip()
    n_words, n_chars = len(words_of(stripped)), len(stripped)
    if n_words >= params.long_line_words or n_chars >= params.long_line_chars:
        return True
    return ends_like_sentence(stripped) and (n_words >= params.prose_min_words or n_chars >= params.prose_min_chars)


def line_kind(line: str, params: LineRuleParams = LineRuleParams()) -> tuple[str, str | None]:
    """(kind, boilerplate rule name or None) of one line."""
    if not line.strip():
        return BLANK, None
    rule = boilerplate_rule(line, params)
    if rule is not None:
        return BOILERPLATE, rule
    return (PROSE if is_prose(line, params) else OTHER), None
