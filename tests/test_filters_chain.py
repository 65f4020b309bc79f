"""The chain: FineWeb order, first failing reason, stats, C4/PII text, Arrow batches, bad input."""
import pyarrow as pa

from core.filters.chain import ChainConfig, LanguageOverrides, output_schema, run_chain, run_chain_on_batch
from core.filters.gopher_quality import GopherQualityParams

SENTENCES = [
    "The committee met on Tuesday to discuss the new budget for the local library and its programs.",
    "Several members argued that the children's section needed more books and longer opening hours.",
    "Others pointed out that the roof had been leaking for two years and should be repaired first.",
    "After a long debate, they agreed to split the money between the roof and the new books.",
    "The decision was welcomed by parents, who had written many letters to the council about it.",
    "Contact the library at info@library-example.org or visit the office at 81.2.69.160 for details.",
]
GOOD = "\n".join(SENTENCES + ["Menu"])


def test_good_document_kept_with_c4_and_pii_applied():
    result = run_chain(GOOD, "https://library.example.com/news")
    assert result.keep and result.reason is None and result.language == "en"
    assert "Menu" not in result.text and "info@library-example.org" not in result.text
    assert "81.2.69.160" not in result.text
    assert result.stats["pii.n_emails"] == 1 and result.stats["c4.lines_removed_too_few_words"] == 1


def test_first_failure_in_fineweb_order():
    assert run_chain(GOOD, "https://pornhub.com/").reason == "url.banned_domain"
    assert run_chain("Ceci est un texte en français. " * 30, "https://ok.com/").reason == "language.not_kept"
    assert run_chain("buy cheap pills now " * 100, "https://ok.com/").reason.startswith("gopher_repetition.")


def test_full_stats_when_not_stopping():
    config = ChainConfig(stop_at_first_failure=False)
    result = run_chain(GOOD, "https://pornhub.com/", config)
    assert result.reason == "url.banned_domain" and "fineweb_quality.list_ratio" in result.stats


def test_switches_and_language_overrides():
    short = " ".join(SENTENCES[:2])
    assert run_chain(short, "https://ok.com/").reason == "gopher_quality.word_count"
    relaxed = ChainConfig(language_overrides={"en": LanguageOverrides(gopher_quality=GopherQualityParams(min_doc_words=5))})
    assert run_chain(short, "https://ok.com/", relaxed).reason != "gopher_quality.word_count"
    assert run_chain(short, "https://ok.com/", ChainConfig(gopher_quality=None)).reason != "gopher_quality.word_count"


def test_bad_input_gets_a_decision():
    for text in ["", None, "\x00\xff\ufffd" * 5000, "x" * 300_000, "ᚠᛇᚻ᛫ᛒᛦᚦ " * 200, "\n" * 1000]:
        result = run_chain(text, "https://ok.com/")
        assert result.keep is False and result.reason and result.error is None
        off = run_chain(text, "https://ok.com/", ChainConfig(url=None, language=None))
        assert off.keep is False and off.reason and off.error is None


def test_batch_columns_match_single_runs():
    rows = [{"text": GOOD, "url": "https://library.example.com/"}, {"text": "", "url": None},
            {"text": "Hallo Welt, dies ist ein deutscher Text.", "url": "https://de.example/"}]
    out = run_chain_on_batch(rows)
    assert out.schema == output_schema()
    assert out.column("keep").to_pylist() == [True, False, False]
    assert out.column("reason").to_pylist() == [None, "url.missing", "language.not_kept"]
    batch = pa.RecordBatch.from_pylist(rows)
    assert run_chain_on_batch(batch).equals(out)
    single = run_chain(GOOD, "https://library.example.com/")
    assert out.column("text")[0].as_py() == single.text
    assert out.column("gopher_repetition__top_2_gram_frac")[0].as_py() == single.stats["gopher_repetition.top_2_gram_frac"]
