"""C4 and FineWeb quality rules on plain strings."""
from core.filters.c4_quality import C4QualityParams, c4_quality
from core.filters.fineweb_quality import FineWebQualityParams, fineweb_quality

GOOD_LINES = [f"This is sentence number {i} of a perfectly normal paragraph." for i in range(6)]


def test_c4_keeps_and_removes_lines():
    text = "\n".join(GOOD_LINES + ["Menu", "Enable javascript to see this page now", "Read our privacy policy here",
                                   "A citation[1] in a line here."])
    result = c4_quality(text)
    assert result.keep and result.text.splitlines() == GOOD_LINES + ["A citation in a line here."]
    assert result.stats["c4.lines_removed_too_few_words"] == 1
    assert result.stats["c4.lines_removed_javascript"] == 1
    assert result.stats["c4.lines_removed_policy"] == 1


def test_c4_reasons():
    assert c4_quality("\n".join(GOOD_LINES + ["Lorem ipsum dolor sit amet."])).reason == "c4.lorem_ipsum"
    assert c4_quality("\n".join(GOOD_LINES + ["function f() { return 1; }"])).reason == "c4.curly_bracket"
    assert c4_quality("Just one sentence here.").reason == "c4.too_few_sentences"
    assert c4_quality("").reason == "c4.too_few_sentences"
    assert c4_quality("x" * 2000 + " a b c").reason == "c4.too_few_sentences"


def test_c4_sentence_count_within_a_line():
    text = "One is here. Two is here. Three is here. Four is here. Five is here."
    assert c4_quality(text).keep
    assert c4_quality(text, C4QualityParams(filter_no_terminal_punct=True)).keep
    assert c4_quality("no end punct at all here", C4QualityParams(filter_no_terminal_punct=True, min_num_sentences=None)).text == ""


def test_fineweb_reasons():
    assert fineweb_quality("").reason == "fineweb_quality.empty"
    assert fineweb_quality("\n \n").reason == "fineweb_quality.empty"
    assert fineweb_quality("\n".join(["no punctuation at the end of this line"] * 10)).reason == "fineweb_quality.line_punct_ratio"
    assert fineweb_quality("\n".join(["Short."] * 3 + ["A much longer line that ends properly with a period."])).reason == "fineweb_quality.short_line_ratio"
    dup = "\n".join(["This line is repeated and long enough to matter a lot."] * 2 + ["Another long enough line that is unique here."])
    assert fineweb_quality(dup).reason == "fineweb_quality.char_dup_ratio"
    lst = "\n".join(f"Extraordinarily{i}wonderfulnesses." for i in range(10))
    assert fineweb_quality(lst).reason == "fineweb_quality.list_ratio"
    assert fineweb_quality(lst, FineWebQualityParams(new_line_ratio=None)).keep
