"""Chunking and prompt text of ProX's two stages, as the released code builds them."""
import random

import pytest

from core.prox.chunks import Chunk, chunk_document, number_line
from core.prox.prompts import (
    SYSTEM_PROMPT,
    chunk_prompt,
    chunk_prompts,
    doc_prompt,
    parse_chunk_prompt,
    truncate_to_tokens,
)


def count_words(text: str) -> int:
    return len(text.split())


def test_line_numbers_have_three_digits_at_least_and_no_space():
    assert number_line(0, "Home") == "[000]Home"
    assert number_line(7, " indented") == "[007] indented"
    assert number_line(999, "") == "[999]"
    assert number_line(1000, "x") == "[1000]x"
    assert number_line(123456, "x") == "[123456]x"


def test_numbering_is_global_across_chunks():
    text = "\n".join(f"w{i} w w" for i in range(1_200))
    chunks = chunk_document(text, count_words, max_tokens=40)  # "[000]w0 w w" is 3 words: 13 lines a chunk
    assert len(chunks) > 90
    numbered = "\n".join(chunk.numbered_text for chunk in chunks).split("\n")
    assert numbered == [number_line(i, line) for i, line in enumerate(text.split("\n"))]
    assert chunks[1].numbered_text.startswith("[013]w13 w w")
    assert chunks[-1].numbered_text.endswith("[1199]w1199 w w")
    for previous, chunk in zip(chunks, chunks[1:]):
        assert chunk.first_line == previous.last_line + 1 and chunk.index == previous.index + 1


def test_greedy_packing_at_the_budget_edge():
    # tokens = characters of the numbered line; "[000]" is 5
    text = "\n".join(["a" * 5, "b" * 5, "c" * 4, "d"])  # 10, 10, 9, 6 tokens
    chunks = chunk_document(text, len, max_tokens=20)
    assert [(c.first_line, c.last_line, c.n_tokens) for c in chunks] == [(0, 1, 20), (2, 3, 15)]
    assert chunks[0].numbered_text == "[000]aaaaa\n[001]bbbbb"


def test_a_line_over_the_budget_gets_a_chunk_of_its_own():
    text = "\n".join(["short", "x" * 100, "after", "more"])
    chunks = chunk_document(text, len, max_tokens=30)
    assert [(c.first_line, c.last_line) for c in chunks] == [(0, 0), (1, 1), (2, 3)]
    assert chunks[1].n_tokens == 105
    first_line_too_long = chunk_document("y" * 50 + "\nnext", len, max_tokens=30)
    assert [(c.first_line, c.last_line) for c in first_line_too_long] == [(0, 0), (1, 1)]


def _released_packing(lines_tokens: list[int], budget: int) -> list[list[int]]:
    """The released greedy rule restated as groups of line indices (a test oracle)."""
    groups, group, used = [], [], 0
    for i, n in enumerate(lines_tokens):
        if used + n <= budget:
            group.append(i)
            used += n
            continue
        if group:
            groups.append(group)
        group, used = [i], n
        if n > budget:
            groups.append(group)
            group, used = [], 0
    if group:
        groups.append(group)
    return groups


def test_packing_matches_the_released_rule_on_random_documents():
    rng = random.Random(11)
    for _ in range(300):
        lines = ["x" * rng.choice([0, 1, 3, 10, 40, 90]) for _ in range(rng.randint(1, 60))]
        budget = rng.choice([10, 30, 50, 100])
        chunks = chunk_document("\n".join(lines), len, max_tokens=budget)
        expected = _released_packing([len(number_line(i, line)) for i, line in enumerate(lines)], budget)
        assert [list(range(c.first_line, c.last_line + 1)) for c in chunks] == expected


def test_empty_document_has_no_chunks_and_blank_lines_are_lines():
    assert chunk_document("", count_words) == ()
    chunks = chunk_document("\n\n", count_words)
    assert len(chunks) == 1 and chunks[0].numbered_text == "[000]\n[001]\n[002]"


def test_bad_token_counter_or_budget_is_a_caller_error():
    with pytest.raises(ValueError):
        chunk_document("x", lambda s: -1)
    with pytest.raises(ValueError):
        chunk_document("x", lambda s: 1.5)
    with pytest.raises(ValueError):
        chunk_document("x", count_words, max_tokens=0)


def test_chunk_prompt_is_wrapped_exactly_as_released():
    chunks, prompts = chunk_prompts("Home | About\nThe text.", count_words)
    assert prompts == ("[doc]\n[000]Home | About\n[001]The text.\n[/doc]",)
    assert chunk_prompt(chunks[0]) == prompts[0]
    assert SYSTEM_PROMPT == "You are a helpful, respectful and honest assistant."


def test_parse_chunk_prompt_inverts_the_prompt():
    text = "first\n\n[005]looks numbered\nlast line [x]"
    chunks, prompts = chunk_prompts(text, count_words, max_tokens=2)
    parsed = [line for prompt in prompts for line in parse_chunk_prompt(prompt)]
    assert parsed == list(enumerate(text.split("\n")))
    with pytest.raises(ValueError):
        parse_chunk_prompt("[000]no wrapper")
    with pytest.raises(ValueError):
        parse_chunk_prompt("[doc]\nnot numbered\n[/doc]")


def test_doc_prompt_is_the_raw_document_cut_to_the_token_budget():
    text = " ".join(f"w{i}" for i in range(5_000))
    prompt = doc_prompt(text, count_words)
    assert count_words(prompt) == 2_000 and text.startswith(prompt)
    # the longest such prefix: one more character would be over budget (or split the 2,001st word)
    assert count_words(text[: len(prompt) + 2]) == 2_001
    short = "A short document.\nTwo lines."
    assert doc_prompt(short, count_words) == short


def test_truncation_finds_the_longest_prefix_with_any_monotone_counter():
    rng = random.Random(3)
    for _ in range(200):
        text = "".join(rng.choice("ab \n") for _ in range(rng.randint(0, 3_000)))
        budget = rng.randint(1, 400)
        cut = truncate_to_tokens(text, len, budget)
        assert cut == text[:budget]
        cut_words = truncate_to_tokens(text, count_words, budget)
        assert count_words(cut_words) <= budget and text.startswith(cut_words)
        if cut_words != text:
            assert count_words(text[: len(cut_words) + 1]) > budget
    with pytest.raises(ValueError):
        truncate_to_tokens("x", len, 0)


def test_chunk_dataclass_is_frozen():
    chunk = Chunk(0, 0, 0, "[000]x", 1)
    with pytest.raises(AttributeError):
        chunk.first_line = 3
