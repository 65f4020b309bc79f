"""Character sets, word splitting and sentence counting shared by the SILVER filters.

Word splitting follows spaCy's English tokenizer (what datatrove's `split_into_words` uses for `en`)
without depending on spaCy at run time: text is cut on whitespace, then each chunk has its leading
and trailing punctuation peeled off, contractions and a few infixes (hyphens between words, `/`,
`:` between letters, `lower.Upper`) split, the way spaCy's prefix/suffix/infix rules do, with
spaCy's own letter classes (`spacy_chars.py`) and its URL_MATCH (bare `host.tld`/`file.gz` names
are not split). Plain words
take a fast path. `tests/test_filters_text.py` measures agreement with spaCy; the parity test
measures what matters, agreement of the filter decisions.

Sentence counting follows spaCy's `sentencizer` (what datatrove's C4 filter counts per line): a new
sentence starts at the first non-punctuation token after a token that is a sentence terminator.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from core.filters.spacy_chars import ALPHA, ALPHA_LOWER, ALPHA_UPPER

# Sentence terminators of spaCy's sentencizer (its `default_punct_chars`), as code points.
_SENTENCIZER_CODEPOINTS = (
    "21 2e 3f 589 61f 6d4 700 701 702 7f9 964 965 104a 104b 1362 1367 1368 166e 1735 1736 1803 1809 "
    "1944 1945 1aa8 1aa9 1aaa 1aab 1b5a 1b5b 1b5e 1b5f 1c3b 1c3c 1c7e 1c7f 203c 203d 2047 2048 2049 "
    "2e2e 2e3c 3002 a4ff a60e a60f a6f3 a6f7 a876 a877 a8ce a8cf a92f a9c8 a9c9 aa5d aa5e aa5f aaf0 "
    "aaf1 abeb fe52 fe56 fe57 ff01 ff0e ff1f ff61 10a56 10a57 11047 11048 110be 110bf 110c0 110c1 "
    "11141 11142 11143 111c5 111c6 111cd 111de 111df 11238 11239 1123b 1123c 112a9 1144b 1144c "
    "115c2 115c3 115c9 115ca 115cb 115cc 115cd 115ce 115cf 115d0 115d1 115d2 115d3 115d4 115d5 "
    "115d6 115d7 11641 11642 1173c 1173d 1173e 11a42 11a43 11a9b 11a9c 11c41 11c42 16a6e 16a6f "
    "16af5 16b37 16b38 16b44 1bc9f 1da88"
)
# Further Unicode sentence terminators in datatrove's TERMINAL_PUNCTUATION (utils/text.py).
_EXTRA_TERMINAL_CODEPOINTS = (
    "61d 61e 837 839 83d 83e 17d4 17d5 17d6 17d9 17da 1b7d 1b7e 2e53 2e54 10f55 10f56 10f57 10f58 "
    "10f59 10f86 10f87 10f88 10f89 11944 11946 11ef7 11ef8 11f43 11f44 16e98"
)


def _chars(codepoints: str) -> frozenset[str]:
    return frozenset(chr(int(cp, 16)) for cp in codepoints.split())


SENTENCE_TERMINATORS = _chars(_SENTENCIZER_CODEPOINTS)
# datatrove TERMINAL_PUNCTUATION: FineWeb's "line ends in terminal punctuation" characters
TERMINAL_PUNCTUATION = SENTENCE_TERMINATORS | _chars(_EXTRA_TERMINAL_CODEPOINTS)
TERMINAL_PUNCTUATION_TUPLE = tuple(sorted(TERMINAL_PUNCTUATION))

# datatrove PUNCTUATION (utils/text.py): ASCII and CJK punctuation (and, as there, a full-width
# digit one) plus C0/C1 control characters other than \t and \n. A "word" made only of these is a
# symbol and does not count as a word in the Gopher quality filter.
_ASCII_AND_CJK_PUNCT = (
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~«´»–—’“”„…∶►、。「」【】〈〉《》━（），．：；？！％１～"
)
_CONTROL = "".join(
    chr(x) for lo, hi in ((0, 9), (11, 13), (13, 32), (127, 160)) for x in range(lo, hi)
)
PUNCTUATION_SET = frozenset(_ASCII_AND_CJK_PUNCT + _CONTROL) | TERMINAL_PUNCTUATION
# datatrove PUNCTUATION itself (without the terminal punctuation): what its `simplify_text` turns
# into spaces when removing punctuation (PUNCTUATION_TRANS)
PUNCTUATION_CHARS = _ASCII_AND_CJK_PUNCT + _CONTROL

# --- word splitting (spaCy English tokenizer, approximated) ----------------------------------
# Characters peeled one at a time from either end of a chunk (spaCy LIST_PUNCT + LIST_QUOTES).
_EDGE_PUNCT = frozenset(
    "…,:;!?¿؟¡()[]{}<>_#*&。？！，、；：～·।،۔؛٪"
    "'\"”“`‘´’‚„»«「」『』（）〔〕【】《》〈〉〈〉⟦⟧"
)
_PREFIX_ONLY = frozenset("§%=—–$£€¥฿₽﷼₴₠₡₢₣₤₥₦₧₨₩₪₫₭₮₯₰₱₲₳₵₶₷₸₹₺₻₼₾₿")
_SUFFIX_ONLY = frozenset("—–")
_CURRENCY = frozenset("$£€¥฿₽﷼₴₠₡₢₣₤₥₦₧₨₩₪₫₭₮₯₰₱₲₳₵₶₷₸₹₺₻₼₾₿")
_UNITS = (
    "km km² km³ m m² m³ dm dm² dm³ cm cm² cm³ mm mm² mm³ ha µm nm yd in ft kg g mg µg t lb oz "
    "m/s km/h kmh mph hPa Pa mbar mb MB kb KB gb GB tb TB T G M K % am pm a.m. p.m. "
    "км км² км³ м м² м³ дм см мм нм кг г мг м/с км/ч кПа Па мбар Кб КБ кб Мб МБ мб Гб ГБ гб Тб ТБ тб"
).split()
_UNIT_RE = re.compile(r"^([0-9]+(?:[.,][0-9]+)?)(" + "|".join(map(re.escape, sorted(_UNITS, key=len, reverse=True))) + r")$")
_UNIT_SUFFIX_RE = re.compile(r"(?<=[0-9])(?:" + "|".join(map(re.escape, sorted(_UNITS, key=len, reverse=True))) + r")\Z")
_PERIOD_AFTER = frozenset("%²-+") | _EDGE_PUNCT
_POSSESSIVE = ("'s", "'S", "’s", "’S")
# spaCy's URL_MATCH (spacy/lang/tokenizer_exceptions.py): a token left after the affixes are peeled
# off that matches it is not split on infixes. The scheme is optional, so any `label.label.tld`
# with a lower-case TLD of 2+ letters counts: `Contents-arch.gz`, `man-db.service`.
_URL_RE = re.compile(
    r"(?u)^"
    r"(?:(?:[\w\+\-\.]{2,})://)?"
    r"(?:\S+(?::\S*)?@)?"
    r"(?:"
    r"(?!(?:10|127)(?:\.\d{1,3}){3})"
    r"(?!(?:169\.254|192\.168)(?:\.\d{1,3}){2})"
    r"(?!172\.(?:1[6-9]|2\d|3[0-1])(?:\.\d{1,3}){2})"
    r"(?:[1-9]\d?|1\d\d|2[01]\d|22[0-3])"
    r"(?:\.(?:1?\d{1,2}|2[0-4]\d|25[0-5])){2}"
    r"(?:\.(?:[1-9]\d?|1\d\d|2[0-4]\d|25[0-4]))"
    r"|"
    r"(?:(?:[A-Za-z0-9\u00a1-\uffff][A-Za-z0-9\u00a1-\uffff_-]{0,62})?[A-Za-z0-9\u00a1-\uffff]\.)+"
    r"(?:[" + ALPHA_LOWER + r"]{2,63})"
    r")"
    r"(?::\d{2,5})?"
    r"(?:[/?#]\S*)?"
    r"$"
)
_ELLIPSIS_RE = re.compile(r"\.\.+|…")
# Infixes (spaCy's English TOKENIZER_INFIXES, with spaCy's letter classes): ellipses,
# digit-op-digit, lower.Upper, alpha,alpha, alnum-hyphen-alpha, alnum[:<>=/]alpha. (Its LIST_ICONS
# infix is handled by the symbol split in `_split_core`.)
_QUOTES = "\\'\"”“`‘´’‚,„»«「」『』（）〔〕【】《》〈〉\u2329\u232a⟦⟧"  # spaCy CONCAT_QUOTES
_INFIX_RE = re.compile(
    r"\.\.+|…"
    r"|(?<=[0-9])[+\-*^](?=[0-9-])"
    r"|(?<=[" + ALPHA_LOWER + _QUOTES + r"])\.(?=[" + ALPHA_UPPER + _QUOTES + r"])"
    r"|(?<=[" + ALPHA + r"]),(?=[" + ALPHA + r"])"
    r"|(?<=[" + ALPHA + r"0-9])(?:-|–|—|--|---|——|~)(?=[" + ALPHA + r"])"
    r"|(?<=[" + ALPHA + r"0-9])[:<>=/](?=[" + ALPHA + r"])"
)
_CONTRACTION_RE = re.compile(r"^(.*[^\W\d_])([nN]['’][tT]|['’](?:[rR][eE]|[vV][eE]|[lL][lL]|[dD]|[mM]))$")
# Contractions written without an apostrophe that spaCy splits (its English exceptions).
_BARE_CONTRACTIONS = {
    "dont": ("do", "nt"), "doesnt": ("does", "nt"), "didnt": ("did", "nt"), "cant": ("ca", "nt"),
    "wont": ("wo", "nt"), "isnt": ("is", "nt"), "arent": ("are", "nt"), "wasnt": ("was", "nt"),
    "werent": ("were", "nt"), "hasnt": ("has", "nt"), "havent": ("have", "nt"),
    "hadnt": ("had", "nt"), "couldnt": ("could", "nt"), "wouldnt": ("would", "nt"),
    "shouldnt": ("should", "nt"), "mustnt": ("must", "nt"), "aint": ("ai", "nt"),
    "cannot": ("can", "not"), "gonna": ("gon", "na"), "gotta": ("got", "ta"), "im": ("i", "m"),
    "ive": ("i", "ve"), "id": ("i", "d"), "hes": ("he", "s"), "shes": ("she", "s"),
    "thats": ("that", "s"), "whats": ("what", "s"), "theres": ("there", "s"), "youre": ("you", "re"),
    "theyre": ("they", "re"), "youve": ("you", "ve"), "theyve": ("they", "ve"), "weve": ("we", "ve"),
    "youll": ("you", "ll"), "theyll": ("they", "ll"), "itll": ("it", "ll"), "wed": ("we", "d"),
    "hed": ("he", "d"), "youd": ("you", "d"), "theyd": ("they", "d"), "whos": ("who", "s"),
    "couldve": ("could", "ve"), "wouldve": ("would", "ve"), "shouldve": ("should", "ve"),
    "yall": ("y", "all"), "wheres": ("where", "s"), "hows": ("how", "s"), "itd": ("it", "d"),
}
# Abbreviations spaCy keeps whole although they end in a period (a subset of its exceptions).
_ABBREVIATIONS = frozenset(
    "Adm. Ak. Ala. Apr. Ariz. Ark. Aug. Bros. Calif. Co. Colo. Conn. Corp. D.C. Dec. Del. Dr. E.G. "
    "E.g. Feb. Fla. Ga. Gen. Gov. I.E. I.e. Ia. Id. Ill. Inc. Ind. Jan. Jr. Jul. Jun. Kan. Kans. Ky. "
    "La. Ltd. Mar. Mass. Md. Messrs. Mich. Minn. Miss. Mo. Mont. Mr. Mrs. Ms. Mt. N.C. N.D. N.H. "
    "N.J. N.M. N.Y. Neb. Nebr. Nev. Nov. Oct. Okla. Ore. Pa. Ph.D. Prof. Rep. Rev. S.C. Sen. Sep. "
    "Sept. St. Tenn. Va. Wash. Wis. a.m. co. e.g. i.e. p.m. v.s. vs. ä. ö. ü.".split()
) | frozenset(f"{c}." for c in "abcdefghijklmnopqrstuvwxyz")


# Tokens spaCy keeps whole (emoticons and a few words from its exceptions).
_SPECIAL_TOKENS = frozenset(
    "'' ’’ ): (: (; (= (-: (-; )-: -_- ._. 0.0 0_0 8) 8-) :( :) :)) :* :-( :-) :-* :-/ :-0 :-3 :-> "
    ":-] :-| :-} :/ :0 :1 :3 :> :] :| :} :'( :') ;) ;-) ;_; <.< </3 <3 <33 =( =) =/ =3 =[ =] =| "
    ">.< >.> >:( @_@ [-: [: [= ]= ^_^ :D :P :p :o :O :x :X ;D XD xD :-D :-P :-p <space> "
    "'s 'S 'd 'll 're 've 'm 'em ’s ’S ’d ’ll ’re ’ve ’m ’em n't n’t C++ and/or w/o "
    "o'clock O'clock o’clock ma'am Ma'am 'cause 'bout 'nuff".split()
)


@lru_cache(maxsize=8192)
def _is_symbol_other(ch: str) -> bool:
    return unicodedata.category(ch) == "So"


def _period_is_suffix(chunk: str) -> bool:
    """spaCy: a final '.' is split after a digit, lowercase letter, %²-+, punctuation or two capitals."""
    if len(chunk) < 2:
        return False
    prev = chunk[-2]
    if prev.isdigit() or prev.islower() or prev in _PERIOD_AFTER or (prev.isalpha() and not prev.isupper()):
        return True
    return len(chunk) >= 3 and prev.isupper() and chunk[-3].isupper()


def _special(chunk: str) -> tuple[str, ...] | None:
    if chunk in _ABBREVIATIONS or chunk in _SPECIAL_TOKENS:
        return (chunk,)
    bare = _BARE_CONTRACTIONS.get(chunk) or _BARE_CONTRACTIONS.get(chunk.lower())
    if bare is not None and (chunk.islower() or chunk.istitle()):
        head = chunk[: len(bare[0])]
        return head, chunk[len(bare[0]) :]
    return None


# spaCy's final special-case pass re-joins pieces that spell an exception (emoticons, `Prof.`).
_MERGEABLE = _SPECIAL_TOKENS | _ABBREVIATIONS


def _merge_specials(tokens: list[str], out: list[str]) -> None:
    """spaCy re-joins adjacent pieces that spell a special case (`f():` gives `f`, `(`, `):`;
    `O.Univ.Prof.Dr.` gives `O.Univ`, `.`, `Prof.`, `Dr.`)."""
    i, n = 0, len(tokens)
    while i < n:
        for k in (4, 3, 2):
            if i + k <= n and "".join(tokens[i : i + k]) in _MERGEABLE:
                out.append("".join(tokens[i : i + k]))
                i += k
                break
        else:
            out.append(tokens[i])
            i += 1


def _split_chunk(chunk: str, out: list[str]) -> None:
    pieces: list[str] = []
    _split_affixes(chunk, pieces)
    if len(pieces) > 1:
        _merge_specials(pieces, out)
    else:
        out.extend(pieces)


def _split_affixes(chunk: str, out: list[str]) -> None:
    """Split one whitespace-free chunk the way spaCy's affix rules would, appending to out."""
    special = _special(chunk)
    if special is not None:
        out.extend(special)
        return
    suffixes: list[str] = []
    while chunk:
        first = chunk[0]
        if first in _EDGE_PUNCT or first in _PREFIX_ONLY or (first == "+" and not chunk[1:2].isdigit()) or _is_symbol_other(first):
            m = _ELLIPSIS_RE.match(chunk)
            n = m.end() if m else 1
            out.append(chunk[:n])
            chunk = chunk[n:]
            special = _special(chunk)
            if special is not None:
                out.extend(special)
                chunk = ""
            continue
        if chunk.startswith(".."):
            m = _ELLIPSIS_RE.match(chunk)
            out.append(chunk[: m.end()])
            chunk = chunk[m.end() :]
            continue
        last = chunk[-1]
        n = 0
        if chunk.endswith(_POSSESSIVE) and len(chunk) > 2:
            n = 2
        elif last in _EDGE_PUNCT or last in _SUFFIX_ONLY or _is_symbol_other(last):
            n = 1
            if last == "…" or chunk.endswith(".."):
                n = len(chunk) - len(chunk.rstrip("."))
        elif last == ".":
            if chunk.endswith(".."):
                n = len(chunk) - len(chunk.rstrip("."))
            elif _period_is_suffix(chunk):
                n = 1
        elif last in _CURRENCY and len(chunk) > 1 and chunk[-2].isdigit():
            n = 1
        elif (m := _UNIT_SUFFIX_RE.search(chunk)) is not None and m.start() > 0:
            n = len(chunk) - m.start()
        elif last == "+" and len(chunk) > 1 and chunk[-2].isdigit():
            n = 1
        if n and n < len(chunk):
            suffixes.append(chunk[-n:])
            chunk = chunk[:-n]
            special = _special(chunk)
            if special is not None:
                out.extend(special)
                chunk = ""
            continue
        if n:  # the whole chunk is one suffix/punctuation token
            out.append(chunk)
            chunk = ""
        break
    if chunk:
        _split_core(chunk, out)
    out.extend(reversed(suffixes))


def _split_core(chunk: str, out: list[str]) -> None:
    if _URL_RE.match(chunk):
        out.append(chunk)
        return
    m = _UNIT_RE.match(chunk)
    if m:
        out.extend(m.groups())
        return
    m = _CONTRACTION_RE.match(chunk)
    if m:
        _split_core(m.group(1), out)
        out.append(m.group(2))
        return
    if not chunk.isascii() and any(map(_is_symbol_other, chunk)):
        start = 0
        for i, ch in enumerate(chunk):
            if _is_symbol_other(ch):
                if i > start:
                    _split_core(chunk[start:i], out)
                out.append(ch)
                start = i + 1
        if start < len(chunk):
            _split_core(chunk[start:], out)
        return
    start = 0
    for inf in _INFIX_RE.finditer(chunk):
        if inf.start() == 0:  # spaCy skips an infix at the very start
            continue
        if inf.start() > start:
            out.append(chunk[start : inf.start()])
        out.append(inf.group())
        start = inf.end()
    if start < len(chunk):
        out.append(chunk[start:])


_SIMPLE_RE = re.compile(r"[^\W_]+\Z")


def split_words(text: str) -> list[str]:
    """Words of a text, as spaCy's English tokenizer splits them (whitespace tokens dropped)."""
    out: list[str] = []
    append = out.append
    simple = _SIMPLE_RE.match
    for chunk in text.split():
        if simple(chunk) and chunk.lower() not in _BARE_CONTRACTIONS and not chunk[0].isdigit():
            append(chunk)
        else:
            _split_chunk(chunk, out)
    return out


@lru_cache(maxsize=4096)
def _is_punct_token(token: str) -> bool:
    """spaCy's `is_punct`: every character is Unicode punctuation (P*)."""
    return all(unicodedata.category(c).startswith("P") for c in token)


def count_sentences(text: str) -> int:
    """Sentences in a text as spaCy's sentencizer counts them (0 for a text without words)."""
    tokens = split_words(text)
    if not tokens:
        return 0
    count = 1
    seen_terminator = False
    for token in tokens:
        is_terminator = token in SENTENCE_TERMINATORS
        if seen_terminator and not is_terminator and not _is_punct_token(token):
            count += 1
            seen_terminator = False
        elif is_terminator:
            seen_terminator = True
    return count
