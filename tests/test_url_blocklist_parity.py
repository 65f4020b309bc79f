"""Keep/drop and reason of the URL filter against datatrove's own URLFilter (0.10.1), both with
FineWeb's real lists (UT1 and datatrove's word lists) and both with the same lists of our own.

URLs: every WARC-Target-URI of the real Common Crawl fixtures and of the embedded sample crawl,
and synthetic URLs built from UT1 entries and datatrove's word lists (subdomains, `www.`, ports,
uppercase, trailing dots, credentials, fragments, IDN hosts in punycode and in Unicode, IPv4 hosts,
UT1 URL entries with and without a scheme, banned, soft and sub- words in both cases, malformed
URLs), so that any difference in the rules shows.

datatrove's `TLDExtract()` is given tldextract's bundled public suffix list (what it falls back to
when publicsuffix.org cannot be reached; ours always uses it), because tests use no network.

Every URL agrees (no entry in KNOWN). A disagreement found later goes into KNOWN with its
explanation; `-s` prints every disagreement.
"""
from __future__ import annotations

import random
from functools import partial
from pathlib import Path

import pytest
import tldextract

from core.filters.url_blocklist import datatrove_assets
from core.filters.url_filter import UrlFilterParams, load_blocklist, url_decisions, url_filter
from tests.conftest import COMMONCRAWL
from tests.test_url_blocklist import SEED, shared_blocklist_dir, ut1_picks

try:  # the test extras always install datatrove; its absence is a broken environment, not a skip
    from datatrove.data import Document
    from datatrove.pipeline.filters import url_filter as datatrove_url_filter
except ImportError as exc:
    raise ImportError(f"test_url_blocklist_parity needs datatrove, a test extra (make test): {exc}") from exc

REASONS = {  # datatrove URLFilter reason -> ours
    "domain": "url.banned_domain",
    "subdomain": "url.banned_subdomain",
    "url": "url.banned_url",
    "hard_blacklisted": "url.banned_word",
    "soft_blacklisted": "url.soft_banned_words",
    "blacklisted_subword": "url.banned_subword",
}
KNOWN: dict[str, str] = {}  # URL -> why the two may disagree (none so far)
FIXTURE_FILES = (
    "CC-MAIN-2020-34__resiliparse_warcfile.warc.gz",
    "CC-MAIN-2016-50__sparkwarc_sample.repaired.warc.wet.gz",
    "CC-MAIN-2024-22__whirlwind.warc.gz",
    "CC-MAIN-2024-22__whirlwind.warc.wet.gz",
    "CC-MAIN-2024-22__whirlwind.warc.wat.gz",
)


def _offline_filter(**kwargs):
    flt = datatrove_url_filter.URLFilter(**kwargs)
    flt.tldextractor = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=())
    return flt


@pytest.fixture(scope="session")
def datatrove_filter(tmp_path_factory):
    """datatrove's URLFilter with its integrated lists, extracted into a temporary assets dir."""
    assets = tmp_path_factory.mktemp("hf-assets")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(datatrove_url_filter, "cached_assets_path",
                      partial(datatrove_url_filter.cached_assets_path, assets_dir=assets))
        flt = _offline_filter()
        flt.download_data()
    return flt


@pytest.fixture(scope="session")
def our_blocklist(tmp_path_factory):
    return load_blocklist(UrlFilterParams(), shared_blocklist_dir(tmp_path_factory))


def datatrove_reason(flt, url: str) -> str | None:
    result = flt.filter(Document(text="", id="parity", metadata={"url": url}))
    return None if result is True else REASONS.get(result[1], f"url.{result[1]}")


def disagreements(flt, urls, params, blocklist) -> list[tuple[str, str | None, str | None]]:
    ours = url_decisions(urls, params, blocklist)
    found = [(url, datatrove_reason(flt, url), mine.reason) for url, mine in zip(urls, ours)]
    found = [d for d in found if d[1] != d[2]]
    for url, theirs, mine in found:
        print(f"  {url!r}: datatrove={theirs} ours={mine} {KNOWN.get(url, '(unexplained)')}")
    return [d for d in found if d[0] not in KNOWN]


# ----------------------------------------------------------------------------- URL corpora
def warc_urls(path: Path) -> list[str]:
    from fastwarc.warc import ArchiveIterator

    with open(path, "rb") as stream:
        uris = (record.headers.get("WARC-Target-URI") for record in ArchiveIterator(stream, parse_http=False))
        return [uri for uri in uris if uri]


def fixture_urls() -> list[str]:
    return list(dict.fromkeys(url for name in FIXTURE_FILES for url in warc_urls(COMMONCRAWL / name)))


def sample_crawl_urls(dest: Path) -> list[str]:
    from sample_crawl import build_sample_mirror

    root = build_sample_mirror(dest)
    return list(dict.fromkeys(url for path in sorted(root.rglob("*.warc.gz")) for url in warc_urls(path)))


def _word_list(name: str) -> list[str]:
    lines = (datatrove_assets() / name).read_text().splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def _unicode_host(host: str) -> str | None:
    try:
        return host.encode("ascii").decode("idna")
    except UnicodeError:
        return None


def synthetic_urls() -> list[str]:
    """URLs built from UT1 entries and datatrove's word lists, variants where rules could differ."""
    rng = random.Random(SEED)
    domains = ut1_picks("domains")
    hosts = [*domains["any"][:25], *domains["idn"][:15], *domains["ipv4"][:10], "python.org", "en.wikipedia.org"]
    hosts += [h for h in map(_unicode_host, domains["idn"][:15]) if h]
    urls = []
    for host in hosts:
        urls += [f"http://{host}/", f"https://www.{host}/index.html", f"http://a.b.{host}/", f"http://{host}:8080/x",
                 f"HTTP://{host.upper()}/", f"http://{host}./", f"http://user:secret@{host}/", f"https://{host}/?q=1#top"]
    for entry in ut1_picks("urls")["any"][:20]:
        urls += [entry, f"http://{entry}", f"https://www.{entry}", f"{entry}/", entry.upper()]
    words, soft, subwords = (_word_list(n) for n in ("banned_words.txt", "soft_banned_words.txt", "banned_subwords.txt"))
    for word in rng.sample(words, 20):
        urls += [f"https://example.com/{word}", f"https://example.com/{word.upper()}", f"https://example.com/x{word}x"]
    for a, b in zip(rng.sample(soft, 15), rng.sample(soft, 15)):
        urls += [f"https://example.com/{a}", f"https://example.com/{a}/{b}", f"https://{a}.example.com/{b.title()}"]
    for sub in rng.sample(subwords, 15):
        urls += [f"https://example.com/a{sub}b", f"https://example.com/{sub.upper().replace(' ', '-')}"]
    urls += ["http://[::1]/", "http://[::1", "http://1.2.3.4/", "ftp://example.com/", "//example.com/x", "example.com",
             "http://exa mple.com/", "http://a\u3002b\u3002com/", "http://example.com\\@evil.com/", "mailto:a@b.com",
             "http://localhost:8080/", "https://example.com/free_porn_videos", "https://example.com/sex/nude/"]
    return list(dict.fromkeys(urls))


# ----------------------------------------------------------------------------- parity
@pytest.mark.timeout(900)
@pytest.mark.parametrize("corpus", ["fixtures", "sample crawl", "synthetic"])
def test_same_decisions_as_datatrove_with_fineweb_lists(corpus, datatrove_filter, our_blocklist, tmp_path):
    urls = {"fixtures": fixture_urls, "sample crawl": lambda: sample_crawl_urls(tmp_path / "mirror"),
            "synthetic": synthetic_urls}[corpus]()
    assert len(urls) >= {"fixtures": 80, "sample crawl": 100, "synthetic": 400}[corpus]
    dropped = sum(datatrove_reason(datatrove_filter, u) is not None for u in urls)
    print(f"\n{corpus}: {len(urls)} URLs, {dropped} dropped by datatrove")
    assert not disagreements(datatrove_filter, urls, UrlFilterParams(), our_blocklist)
    if corpus == "synthetic":  # the corpus reaches every rule and both outcomes of each
        reasons = {datatrove_reason(datatrove_filter, u) for u in urls}
        assert reasons == {None, *REASONS.values()}


def test_same_decisions_as_datatrove_with_own_lists(tmp_path):
    lists = {
        "extra_domains": ["example.co.uk", "blog.example.org", "10.1.2.3", "bad.example", "Mixed.Case.com"],
        "extra_urls": ["example.net/private/", "https://example.net/exact"],
        "banned_words": ["bad word", "Badder", "#skip"],
        "soft_banned_words": ["soft", "softer", "softest"],
        "banned_subwords": ["ab c", "zz"],
    }
    flt = _offline_filter(use_integrated_lists=False, **lists)
    paths = {}
    for name, entries in lists.items():
        (tmp_path / name).write_text("\n".join(entries) + "\n")
        paths[name] = (str(tmp_path / name),)
    params = UrlFilterParams(use_default_lists=False, banned_domains_paths=paths["extra_domains"],
                             banned_urls_paths=paths["extra_urls"], banned_words_paths=paths["banned_words"],
                             soft_banned_words_paths=paths["soft_banned_words"],
                             banned_subwords_paths=paths["banned_subwords"])
    hosts = [*lists["extra_domains"], "example.org", "www.example.co.uk", "mixed.case.com"]
    urls = [f"{scheme}://{prefix}{host}{port}/{path}" for scheme in ("http", "HTTPS") for prefix in ("", "www.", "x.y.")
            for host in hosts for port in ("", ":81") for path in ("", "badword", "soft/softer", "xabcx", "Badder")]
    urls += ["example.net/private/", "https://example.net/exact", "https://example.net/exact/"]
    assert len(urls) > 450
    assert not disagreements(flt, urls, params, load_blocklist(params, tmp_path / "cache"))


def test_parents_rule_drops_everything_datatrove_drops_and_more(datatrove_filter, tmp_path_factory):
    urls = synthetic_urls()
    parents = UrlFilterParams(domain_rule="parents")
    blocklist = load_blocklist(parents, shared_blocklist_dir(tmp_path_factory))
    ours = url_decisions(urls, parents, blocklist)
    theirs = [datatrove_reason(datatrove_filter, u) for u in urls]
    assert all(not mine.keep for mine, their in zip(ours, theirs) if their is not None)
    extra = [u for u, mine, their in zip(urls, ours, theirs) if their is None and not mine.keep]
    assert any(u.startswith("http://a.b.") for u in extra) and any(u.startswith("HTTP://") for u in extra)
    ipv4 = ut1_picks("domains")["ipv4"][:10]
    assert [url_filter(f"http://{ip}/", parents, blocklist).reason for ip in ipv4] == ["url.banned_domain"] * 10
