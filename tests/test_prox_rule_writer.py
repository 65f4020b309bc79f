"""The model-free ProX program writer: boilerplate goes, prose stays, programs are valid ProX."""
import pytest

from core.prox.boilerplate import boilerplate_rule, ends_like_sentence, is_menu, is_prose, line_kind
from core.prox.chunks import chunk_document
from core.prox.execute import DROP, KEEP, REFINE, execute_chunk_programs, execute_doc_program
from core.prox.program import parse_program
from core.prox.prompts import chunk_prompts, doc_prompt
from core.prox.rule_writer import RuleWriter, plan_removals, prose_share, write_chunk_programs, write_doc_program
from core.warc.extract import extract_file
from tests.conftest import WARC_2020, WET_REPAIRED


def approx_tokens(text: str) -> int:
    return len(text) // 4 + 1


def refine(text: str, max_tokens: int = 1_500):
    chunks, prompts = chunk_prompts(text, approx_tokens, max_tokens)
    programs = write_chunk_programs(prompts)
    return programs, execute_chunk_programs(text, chunks, programs)


PROSE = [
    "The river rose two metres overnight, and the town council opened the school gym as a shelter.",
    "Volunteers brought blankets, soup and dry clothes for more than two hundred people.",
    "By morning the water had started to fall, but the bridge to the north stayed closed.",
    "Engineers said they would inspect the pillars before letting any traffic across again.",
]

PAGE = "\n".join([
    "Flood closes the north bridge - Riverside Gazette",  # 0 title, kept
    "Skip to content",  # 1
    "Home",  # 2 head run
    "News",  # 3
    "Sport",  # 4
    "Weather",  # 5
    "",  # 6 blank between removed lines
    "Log in",  # 7
    PROSE[0],  # 8
    PROSE[1],  # 9
    "Share this article",  # 10 boilerplate between prose
    PROSE[2],  # 11
    "We use cookies to improve your experience. By continuing to browse you accept our cookie policy.",  # 12
    PROSE[3],  # 13
    "Home | About | Contact | Advertise",  # 14 tail
    "Subscribe to our newsletter",  # 15
    "© 2024 Riverside Gazette. All rights reserved.",  # 16
    "Privacy Policy",  # 17
])


def test_plan_names_the_rule_of_every_removed_line():
    plan = plan_removals(PAGE.split("\n"))
    assert plan == {
        1: "skip_link", 2: "head_run", 3: "head_run", 4: "head_run", 5: "head_run",
        6: "blank_between_removed", 7: "account", 10: "share", 12: "cookie_banner",
        14: "menu", 15: "subscribe", 16: "copyright", 17: "footer_link",
    }


def test_synthetic_page_keeps_exactly_title_and_prose():
    programs, result = refine(PAGE)
    assert programs == [
        "remove_lines(line_start=1, line_end=7)\nremove_lines(line_start=10, line_end=10)\n"
        "remove_lines(line_start=12, line_end=12)\nremove_lines(line_start=14, line_end=17)"
    ]
    assert result.action == REFINE and result.errors == ()
    assert result.text == "\n".join(["Flood closes the north bridge - Riverside Gazette", *PROSE])
    assert write_doc_program(doc_prompt(PAGE, approx_tokens)) == "keep_doc()"


def test_removals_are_split_at_chunk_boundaries_and_numbered_globally():
    chunks, prompts = chunk_prompts(PAGE, approx_tokens, max_tokens=40)
    assert len(chunks) > 3
    programs = write_chunk_programs(prompts)
    for chunk, program in zip(chunks, programs):
        parsed = parse_program(program)
        assert parsed.errors == ()
        for call in parsed.calls:
            if hasattr(call, "line_start"):
                assert chunk.first_line <= call.line_start <= call.line_end <= chunk.last_line
    result = execute_chunk_programs(PAGE, chunks, programs)
    assert result.errors == () and result.text == refine(PAGE)[1].text


def test_prose_only_documents_are_left_alone():
    text = "\n\n".join(PROSE)
    programs, result = refine(text)
    assert programs == ["keep_chunk()"] and result.action == KEEP and result.text == text
    assert write_doc_program(text) == "keep_doc()"


@pytest.mark.parametrize(
    "line",
    [
        "Bake the cookies for ten minutes, then let them cool on a rack before you eat them.",
        "We share the results of every survey with the community and the press each spring.",
        "Click the gear icon and choose a new password, then sign in again with it.",
        "She signed up for the marathon in March and trained every morning after that.",
        "The copyright on the novel expired in 1998, so anyone may print it now.",
        "Home is where the heart is, my grandmother used to say to all of us.",
    ],
)
def test_sentences_that_mention_boilerplate_words_are_prose(line):
    assert boilerplate_rule(line) is None and line_kind(line)[0] == "prose"


@pytest.mark.parametrize(
    "line, rule",
    [
        ("Skip to main content", "skip_link"),
        ("Toggle navigation", "skip_link"),
        ("Home > News > World", "menu"),
        ("首页 » 新闻 » 正文", "menu"),
        ("Facebook Twitter Pinterest Email", "share"),
        ("Tweet", "share"),
        ("Sign in", "account"),
        ("Forgot your password?", "account"),
        ("Follow us on Instagram", "subscribe"),
        ("Leave a Reply", "comment_form"),
        ("Your email address will not be published. Required fields are marked *", "comment_form"),
        ("This website uses cookies to ensure you get the best experience on our website.", "cookie_banner"),
        ("Copyright 2016 Example Inc.", "copyright"),
        ("Powered by WordPress", "copyright"),
        ("Read more", "read_more"),
        ("Next post", "post_navigation"),
        ("Tags: travel, food, Lisbon", "post_navigation"),
        ("Terms of Use", "footer_link"),
        ("(adsbygoogle = window.adsbygoogle || []).push({});", "script"),
        ("Please enable JavaScript to view the comments powered by Disqus.", "script"),
    ],
)
def test_boilerplate_rules_on_synthetic_lines(line, rule):
    assert boilerplate_rule(line) == rule


def test_line_shapes():
    assert ends_like_sentence("He left.”") and ends_like_sentence("終わりです。") and not ends_like_sentence("Contact:")
    assert is_prose("这是一个很长的句子，用来测试没有空格的文字是否也会被当作正文。")
    assert not is_prose("Music News") and not is_prose("Filed under: news")
    assert is_menu("Home | About | Contact") and not is_menu("Cheografía[editar | modificar o codigo]")
    assert not is_menu("Name | This column lists the full legal name of every person in the survey | Age")
    assert not is_menu("Col·lecció il·lustrada de l'any")  # a middle dot inside a word is not a separator
    assert is_menu("» Главная страница » Картины и живопись » Красивый Интерьер")


def test_a_list_between_paragraphs_stays_but_a_comment_form_goes():
    ingredients = ["Ingredients", "2 cups flour", "1 cup sugar", "3 eggs", "Butter"]
    form = ["Leave a Reply", "Name (required)", "Email (required)", "Website", "Cancel"]
    text = "\n".join([PROSE[0], *ingredients, PROSE[1], *form, PROSE[2], PROSE[3]])
    plan = plan_removals(text.split("\n"))
    assert sorted(plan) == list(range(7, 12))
    assert plan[10] == "boilerplate_block"


def test_blank_lines_go_only_between_removed_lines():
    lines = ["Title", "", "Home", "", "", "News", "", "Sport", "", PROSE[0], "", PROSE[1], "", "", "Privacy Policy"]
    plan = plan_removals(lines)  # the first line (the title) stays, so the blank after it does too
    assert plan == {2: "head_run", 3: "blank_between_removed", 4: "blank_between_removed", 5: "head_run",
                    6: "blank_between_removed", 7: "head_run", 14: "footer_link"}


def test_repeated_short_lines_lose_their_later_copies_only():
    text = "\n".join([PROSE[0], "Reply to this", PROSE[1], "Reply to this", PROSE[2], "Reply to this", PROSE[3], PROSE[3]])
    plan = plan_removals(text.split("\n"))
    assert plan == {3: "repeated_line", 5: "repeated_line"}  # a repeated sentence is not this rule's business


def test_whitespace_normalisation_emits_normalize_calls():
    text = "\ufeff" + PROSE[0].replace(" ", "\u00a0", 2) + "\n" + PROSE[2].replace(" the ", "     the ") + "\nsoft\u00adhyphen " + PROSE[1]
    programs, result = refine(text)
    assert programs[0].split("\n")[:3] == [
        'normalize(source_str="\\xa0", target_str=" ")',
        'normalize(source_str="\\ufeff", target_str="")',
        'normalize(source_str="\\xad", target_str="")',
    ]
    assert programs[0].count('normalize(source_str="  ", target_str=" ")') == 3  # 5 spaces -> 3 -> 2 -> 1
    assert result.text == "\n".join([PROSE[0], PROSE[2], "softhyphen " + PROSE[1]])


def test_indented_documents_keep_their_spaces():
    text = "def f(x):\n    return x  # comment with  two spaces\n" + PROSE[0]
    programs, _ = refine(text)
    assert 'normalize(source_str="  "' not in programs[0]


def test_drop_doc_when_nearly_nothing_is_prose():
    nav = "\n".join(["Home", "Products", "Shop | Cart | Account", "Contact us", "© 2024 Shop Ltd"] * 5)
    assert prose_share(nav.split("\n")) == 0.0
    assert write_doc_program(nav) == "drop_doc()"
    assert execute_doc_program(nav, write_doc_program(nav)).action == DROP
    assert write_doc_program("") == "drop_doc()"
    mostly_nav = nav + "\n" + PROSE[0]
    assert 0.0 < prose_share(mostly_nav.split("\n")) < 0.5


def test_the_writer_reads_prompts_and_refuses_foreign_ones():
    writer = RuleWriter()
    chunks, prompts = chunk_prompts(PAGE, approx_tokens, max_tokens=40)
    assert writer.chunk_programs(prompts) == write_chunk_programs(prompts)
    assert writer.doc_program(PAGE) == "keep_doc()"
    with pytest.raises(ValueError):
        writer.chunk_programs(prompts[1:])  # numbering must start at 0 and run in order
    with pytest.raises(ValueError):
        writer.chunk_programs(["not a prompt"])


# --- real extracted text ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fixture_documents():
    docs = []
    for path in (WARC_2020, WET_REPAIRED):
        docs += [event for event in extract_file(str(path), path.name.split("__")[0]) if isinstance(event, dict)]
    assert len(docs) > 80
    return docs


def _by_url(docs, fragment):
    return next(doc for doc in docs if fragment in doc["url"])


def test_every_real_document_gets_valid_programs(fixture_documents):
    actions = set()
    for doc in fixture_documents:
        programs, result = refine(doc["text"])
        assert result.errors == (), doc["url"]
        actions.add(result.action)
        doc_result = execute_doc_program(doc["text"], write_doc_program(doc_prompt(doc["text"], approx_tokens)))
        assert doc_result.errors == ()
    assert {REFINE, KEEP} <= actions


def test_sentences_survive_on_real_text(fixture_documents):
    total = removed = 0
    for doc in fixture_documents:
        lines = doc["text"].split("\n")
        plan = plan_removals(lines)
        for i, line in enumerate(lines):
            if ends_like_sentence(line) and len(line.split()) >= 8:
                total += len(line)
                if i in plan:
                    removed += len(line)
                    # only a named boilerplate rule may take a sentence, never a run or repeat rule
                    assert plan[i] not in ("head_run", "tail_run", "repeated_line"), line
    assert total > 50_000
    assert removed / total < 0.02


def test_a_real_news_page_loses_its_navigation_and_keeps_its_article(fixture_documents):
    text = _by_url(fixture_documents, "1019ampradio")["text"]
    _, result = refine(text)
    kept = result.text.split("\n")
    assert result.action == REFINE
    for sentence in (
        "In the bit, Epps sang poorly and Mindless Behavior member Ray Ray played along.",
        "“You sing bad,” he said. “Like Lauryn Hill tax accountant bad.”",
    ):
        assert sentence in kept
    assert kept[0].startswith("Mindless Behavior Tweets Apology")  # the title line
    for boilerplate in ("Arizona", "Pennsylvania", "SIGN UP FOR NEWSLETTERS", "Privacy Policy", "Terms of Use",
                        "©2016 CBS Local Media, a division of CBS Radio Inc. All rights reserved."):
        assert boilerplate not in kept
    assert result.words_after < 0.7 * result.words_before


def test_a_second_real_page(fixture_documents):
    text = _by_url(fixture_documents, "1067theeagle")["text"]
    _, result = refine(text)
    kept = result.text
    assert "Toggle navigation" not in kept and "© 2016 iHeartMedia, Inc." not in kept
    assert "Enck was released on a $200 bond." in kept
    assert "Fortunately, Katelyn stayed out of prison" in kept


def test_pages_of_nothing_but_links_are_dropped_at_the_document_stage(fixture_documents):
    dropped = [doc["url"] for doc in fixture_documents if write_doc_program(doc_prompt(doc["text"], approx_tokens)) == "drop_doc()"]
    assert any("10kr.ru/shop" in url for url in dropped)  # a shop page of category links
    assert not any("1019ampradio" in url or "1067theeagle" in url for url in dropped)
    assert 0 < len(dropped) < 0.5 * len(fixture_documents)
