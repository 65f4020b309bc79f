"""URL blocklists, language identification and PII replacement."""
from core.filters.base import FilterResult
from core.filters.language_id import LanguageIdParams, language_decision, language_id, predict_languages
from core.filters.pii import scrub_pii
from core.filters.url_filter import UrlFilterParams, url_filter


def test_url_reasons(tmp_path):
    assert url_filter("https://www.example.com/news/today").keep
    assert url_filter("https://pornhub.com/x").reason == "url.banned_domain"
    assert url_filter("https://a.b.xvideos.com/x").reason == "url.banned_domain"
    assert url_filter("https://example.com/free-porn-videos").reason == "url.banned_word"
    assert url_filter("https://example.com/free-PORN-videos").keep  # words keep their case (datatrove)
    assert url_filter("https://example.com/sexy/nude").reason == "url.soft_banned_words"
    assert url_filter("https://example.com/sexy/page").keep  # one soft word is below the threshold 2
    assert url_filter("https://example.com/best-pornhubvideos").reason == "url.banned_subword"
    assert url_filter("").reason == "url.missing" and url_filter(None).reason == "url.missing"
    # A malformed URL (no parsable host) skips the domain check only; its words are still checked.
    assert url_filter("http://[::1") == FilterResult(True, None, {"url.n_soft_words": 0})
    assert url_filter("http://[::1/free-porn").reason == "url.banned_word"
    lists = tmp_path / "domains.txt"
    lists.write_text("# mine\nbad.example\n")
    params = UrlFilterParams(banned_domains_paths=(str(lists),), domain_rule="parents")  # "example": no public suffix
    assert url_filter("https://x.bad.example/", params).reason == "url.banned_domain"
    assert url_filter("https://example.com/sexy/nude", UrlFilterParams(soft_word_threshold=None)).keep


def test_language_batch_and_thresholds():
    preds = predict_languages(["This is plainly an English sentence about the weather today.",
                               "Ceci est une phrase en français sur le temps qu'il fait.", "", "\x00\x01"])
    assert preds[0][0] == "en" and preds[0][1] > 0.65
    assert preds[1][0] == "fr"
    assert preds[2] == (None, 0.0)
    assert language_decision(*preds[1]).reason == "language.not_kept"
    assert language_decision("en", 0.6).reason == "language.low_score"
    assert language_decision("en", 0.6, LanguageIdParams(thresholds={"en": 0.5})).keep
    assert language_decision("fr", 0.9, LanguageIdParams(languages=("en", "fr"))).keep
    assert language_decision("fr", 0.9, LanguageIdParams(languages=None)).keep
    assert language_id("").reason == "language.no_text"


def test_pii():
    result = scrub_pii("mail a.b@example.co.uk or me@x.org from 8.8.8.8, not 192.168.1.1 or 10.0.0.1, v1.2.3.4.5")
    assert result.keep
    assert result.text == ("mail email@example.com or firstname.lastname@example.org from 22.214.171.124, "
                           "not 192.168.1.1 or 10.0.0.1, v1.2.3.4.5")
    assert result.stats == {"pii.n_emails": 2, "pii.n_ips": 1}
    assert scrub_pii("").text == ""
