"""The chain: FineWeb order, first failing reason, stats, C4/PII text, Arrow batches, bad input,
and the recipe machinery (declared statistics, per-step errors, one model call, shared words)."""
import pyarrow as pa
import pytest

import core.filters.base as base
import core.filters.fineweb_quality as fineweb_quality
import core.filters.language_id as language_id
from core.filters.base import FilterResult, FilterStep, float_stats
from core.filters.chain import (
    FILTER_ORDER, ChainConfig, output_schema, run_chain, run_chain_on_batch, statistics_schema,
)
from core.filters.c4_quality import C4QualityParams
from core.filters.gopher_quality import GopherQualityParams
from core.filters.gopher_repetition import GopherRepetitionParams
from core.filters.recipe import FINEWEB_RECIPE

SENTENCES = [
    "The committee met on Tuesday to discuss the new budget for the local library and its programs.",
    "Several members argued that the children's section needed more books and longer opening hours.",
    "Others pointed out that the roof had been leaking for two years and should be repaired first.",
    "After a long debate, they agreed to split the money between the roof and the new books.",
    "The decision was welcomed by parents, who had written many letters to the council about it.",
    "Contact the library at info@library-example.org or visit the office at 81.2.69.160 for details.",
]
GOOD = "\n".join(SENTENCES + ["Menu"])
TEXT_ONLY = ChainConfig(params={"url": None, "language": None, "pii": None})


def test_good_document_kept_with_c4_and_pii_applied():
    result = run_chain(GOOD, "https://library.example.com/news")
    assert result.keep and result.reason is None and result.language == "en"
    assert "Menu" not in result.text and "info@library-example.org" not in result.text
    assert "81.2.69.160" not in result.text
    assert result.stats["pii.n_emails"] == 1 and result.stats["c4.lines_removed_too_few_words"] == 1


def test_first_failure_in_fineweb_order():
    assert FILTER_ORDER == ("url", "language", "gopher_repetition", "gopher_quality", "c4",
                            "fineweb_quality", "pii")
    assert run_chain(GOOD, "https://pornhub.com/").reason == "url.banned_domain"
    assert run_chain("Ceci est un texte en français. " * 30, "https://ok.com/").reason == "language.not_kept"
    assert run_chain("buy cheap pills now " * 100, "https://ok.com/").reason.startswith("gopher_repetition.")


def test_full_stats_when_not_stopping():
    result = run_chain(GOOD, "https://pornhub.com/", ChainConfig(stop_at_first_failure=False))
    assert result.reason == "url.banned_domain" and "fineweb_quality.list_ratio" in result.stats
    assert result.language == "en" and result.text == GOOD  # dropped: the text as it came
    assert "pii.n_emails" not in result.stats  # PII scrubs kept documents only


def test_switches_and_language_overrides():
    short = " ".join(SENTENCES[:2])
    assert run_chain(short, "https://ok.com/").reason == "gopher_quality.word_count"
    relaxed = ChainConfig(language_overrides={"en": {"gopher_quality": GopherQualityParams(min_doc_words=5)}})
    assert run_chain(short, "https://ok.com/", relaxed).reason != "gopher_quality.word_count"
    german_only = ChainConfig(language_overrides={"de": {"gopher_quality": GopherQualityParams(min_doc_words=5)}})
    assert run_chain(short, "https://ok.com/", german_only).reason == "gopher_quality.word_count"
    off = ChainConfig(params={"gopher_quality": None})
    assert run_chain(short, "https://ok.com/", off).reason == "c4.too_few_sentences"
    assert "gopher_quality.n_words" not in run_chain(short, "https://ok.com/", off).stats


def test_config_errors_name_the_step():
    with pytest.raises(ValueError, match="unknown step"):
        ChainConfig(params={"gopher": None})
    with pytest.raises(TypeError, match="GopherQualityParams"):
        ChainConfig(params={"gopher_quality": C4QualityParams()})
    with pytest.raises(ValueError, match="unknown step"):  # the URL filter has no per-language params
        ChainConfig(language_overrides={"de": {"url": None}})
    with pytest.raises(ValueError, match="no statistic"):
        GopherRepetitionParams(top_n_grams=((5, 0.1),))


def test_bad_input_gets_a_decision():
    for text in ["", None, "\x00\xff\ufffd" * 5000, "x" * 300_000, "ᚠᛇᚻ᛫ᛒᛦᚦ " * 200, "\n" * 1000]:
        result = run_chain(text, "https://ok.com/")
        assert result.keep is False and result.reason and result.error is None
        off = run_chain(text, "https://ok.com/", ChainConfig(params={"url": None, "language": None}))
        assert off.keep is False and off.reason and off.error is None


def test_batch_columns_match_single_runs():
    rows = [{"text": GOOD, "url": "https://library.example.com/"}, {"text": "", "url": None},
            {"text": "Hallo Welt, dies ist ein deutscher Text.", "url": "https://de.example/"}]
    out = run_chain_on_batch(rows)
    assert out.schema == output_schema()
    assert out.column("keep").to_pylist() == [True, False, False]
    assert out.column("reason").to_pylist() == [None, "url.missing", "language.not_kept"]
    assert out.column("language").to_pylist() == ["en", None, "de"]
    assert out.column("language_score")[1].as_py() is None  # the language step never ran on it
    batch = pa.RecordBatch.from_pylist(rows)
    assert run_chain_on_batch(batch).equals(out)
    for i, row in enumerate(rows):
        single = run_chain(row["text"], row["url"])
        assert (out.column("keep")[i].as_py(), out.column("text")[i].as_py()) == (single.keep, single.text)
        for stat, column in (("gopher_repetition.top_2_gram_frac", "gopher_repetition__top_2_gram_frac"),
                             ("language.score", "language_score")):
            assert out.column(column)[i].as_py() == pytest.approx(single.stats.get(stat))


def test_statistic_columns_are_the_declared_ones_whatever_is_switched_off():
    every = output_schema(TEXT_ONLY)
    assert every == output_schema()
    assert every.names[:4] == ["keep", "reason", "text", "error"]
    assert statistics_schema().names == every.names[4:]
    assert every.field("gopher_quality__n_words").type == pa.int64()
    assert every.field("language_score").type == pa.float32()
    # every statistic produced on real-looking documents is declared (else results_to_batch raises)
    rows = [{"text": GOOD, "url": "https://x.example/"}, {"text": GOOD * 3, "url": "https://x.example/"},
            {"text": "lorem ipsum dolor " * 40, "url": "https://pornhub.com/"}]
    out = run_chain_on_batch(rows, ChainConfig(stop_at_first_failure=False))
    assert out.column("reason").to_pylist() == [None, "gopher_repetition.dup_line_frac", "url.banned_domain"]
    assert out.column("c4__n_lines").null_count == 0  # later steps ran on dropped documents too


def _step(name, apply, **kwargs):
    return FilterStep(name=name, params_type=GopherQualityParams, statistics=float_stats(name, "x"),
                      apply=apply, **kwargs)


def test_a_new_step_is_one_declaration_and_one_recipe_entry():
    def longest_line(doc, params):
        longest = max(map(len, doc.text.split("\n")))
        return FilterResult(longest < 200, None if longest < 200 else "longest_line.too_long",
                            {"longest_line.x": float(longest)})

    recipe = (*FINEWEB_RECIPE[:2], _step("longest_line", longest_line), *FINEWEB_RECIPE[2:])
    config = ChainConfig(params={"url": None, "language": None}, recipe=recipe)
    out = run_chain_on_batch([{"text": GOOD}, {"text": GOOD.replace("\n", " ")}], config)
    assert out.column("reason").to_pylist() == [None, "longest_line.too_long"]
    assert out.column("longest_line__x").to_pylist() == [float(max(map(len, SENTENCES))), float(len(GOOD))]
    with pytest.raises(ValueError, match="another step"):
        FilterStep(name="a", params_type=GopherQualityParams, statistics=float_stats("b", "x"),
                   apply=longest_line)


def test_undeclared_statistic_is_an_error():
    sloppy = _step("sloppy", lambda doc, params: FilterResult(True, None, {"sloppy.y": 1.0}))
    with pytest.raises(ValueError, match=r"not declared.*sloppy\.y"):
        run_chain_on_batch([{"text": GOOD}], ChainConfig(recipe=(sloppy,)))


def test_an_exception_drops_one_document_with_the_step_named():
    def fragile(doc, params):
        if "boom" in doc.text:
            raise RuntimeError("boom")
        return FilterResult(True, None, {"fragile.x": 1.0})

    recipe = (FINEWEB_RECIPE[2], _step("fragile", fragile), *FINEWEB_RECIPE[3:])
    out = run_chain_on_batch([{"text": GOOD}, {"text": GOOD + "\nboom goes the line here"}],
                             ChainConfig(recipe=recipe))
    assert out.column("reason").to_pylist() == [None, "fragile.error"]
    assert out.column("error").to_pylist() == [None, "RuntimeError: boom"]
    assert out.column("text")[1].as_py() == GOOD + "\nboom goes the line here"
    assert out.column("gopher_quality__n_words")[1].as_py() is None  # no step ran after the error


def test_a_failing_batch_call_falls_back_to_one_call_per_document():
    def one(doc, params):
        if "boom" in doc.text:
            raise RuntimeError("boom")
        return FilterResult(True, None, {"batchy.x": 1.0})

    def batch(docs, params):
        return [one(doc, params) for doc in docs]

    batchy = FilterStep(name="batchy", params_type=GopherQualityParams, statistics=float_stats("batchy", "x"),
                        apply=one, apply_batch=batch)
    out = run_chain_on_batch([{"text": "a"}, {"text": "boom"}, {"text": "c"}], ChainConfig(recipe=(batchy,)))
    assert out.column("reason").to_pylist() == [None, "batchy.error", None]
    assert out.column("batchy__x").to_pylist() == [1.0, None, 1.0]


def test_setup_errors_are_fatal(tmp_path):
    config = ChainConfig(params={"language": language_id.LanguageIdParams(model_path=str(tmp_path / "none.bin"))})
    with pytest.raises(ValueError):
        run_chain_on_batch([{"text": GOOD, "url": "https://ok.com/"}], config)


def test_one_language_call_per_batch_and_only_on_documents_still_in(monkeypatch):
    calls = []
    real = language_id.predict_languages
    monkeypatch.setattr(language_id, "predict_languages", lambda texts, path=None: calls.append(len(texts)) or real(texts, path))
    rows = [{"text": GOOD, "url": "https://ok.com/"}] * 5 + [{"text": GOOD, "url": "https://pornhub.com/"}]
    out = run_chain_on_batch(rows)
    assert calls == [5] and out.column("keep").to_pylist() == [True] * 5 + [False]


def test_the_word_split_is_shared_until_c4_rewrites_the_text(monkeypatch):
    counts = {"shared": 0, "fineweb": 0}

    def counting(name, real):
        def split(text):
            counts[name] += 1
            return real(text)
        return split

    monkeypatch.setattr(base, "split_words", counting("shared", base.split_words))
    monkeypatch.setattr(fineweb_quality, "split_words", counting("fineweb", fineweb_quality.split_words))
    no_rewrite = "\n".join(SENTENCES[:5])
    assert run_chain(no_rewrite, None, TEXT_ONLY).keep
    assert counts == {"shared": 1, "fineweb": 0}  # Gopher ×2 and FineWeb reuse one split
    assert run_chain(GOOD, None, TEXT_ONLY).keep  # C4 drops "Menu": FineWeb splits the new text
    assert counts == {"shared": 2, "fineweb": 1}
