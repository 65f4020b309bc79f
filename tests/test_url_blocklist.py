"""FineWeb's URL blocklists (UT1 as datatrove bundles it) as the URL filter's default: the compact
hashed lists, their cache, and the decision rules on real list entries.

The full lists are built once per test session into a temporary cache directory (`blocklist_dir`,
shared with tests/test_url_blocklist_parity.py through the same path under pytest's base temp).
"""
from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import time
import tarfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
import tldextract

from core import cache
from core.filters import url_blocklist
from core.filters.chain import run_chain
from core.filters.url_blocklist import (
    DefaultListsMissing, HashedSet, ListSource, cache_path, cached_hashes, datatrove_assets,
    hash_strings, string_hash,
)
from core.filters.url_filter import (
    SubwordMatcher, UrlFilterParams, load_blocklist, url_decisions, url_filter,
)

SEED = 20240815
ORDINARY_URLS = (
    "https://www.python.org/downloads/",
    "https://docs.python.org/3/library/re.html",
    "https://en.wikipedia.org/wiki/Common_Crawl",
    "https://wikipedia.org/",
    "https://commoncrawl.org/get-started",
    "https://github.com/huggingface/datatrove",
    "https://www.debian.org/doc/",
    "http://www.bbc.co.uk/news",
)


# ----------------------------------------------------------------------------- shared fixtures
def shared_cache_root(tmp_path_factory) -> Path:
    """One project cache root per test session (as `REFINERY_CACHE`), the same for every module."""
    return tmp_path_factory.getbasetemp() / "refinery-cache"


def shared_blocklist_dir(tmp_path_factory) -> Path:
    return shared_cache_root(tmp_path_factory) / "url-blocklists"


@pytest.fixture(scope="session")
def blocklist_dir(tmp_path_factory) -> Path:
    return shared_blocklist_dir(tmp_path_factory)


@pytest.fixture(scope="session")
def default_blocklist(blocklist_dir):
    return load_blocklist(UrlFilterParams(), blocklist_dir)


@lru_cache(maxsize=None)
def ut1_picks(member: str, seed: int = SEED) -> dict[str, tuple[str, ...]]:
    """Entries of UT1's `domains` or `urls`, drawn with a fixed seed, read straight from datatrove's
    archive (not through the code under test): 500 of all, 30 IDN (`xn--`) and 30 IPv4 entries."""
    with tarfile.open(datatrove_assets() / url_blocklist.DATATROVE_ARCHIVE, "r:gz") as tar:
        lines = tar.extractfile(member).read().decode("utf-8").splitlines()
    entries = [line.strip() for line in lines if line.strip()]
    rng = random.Random(seed)
    idn = [e for e in entries if "xn--" in e]
    ipv4 = [e for e in entries if re.fullmatch(r"[0-9.]+", e)]
    return {"any": tuple(rng.sample(entries, 500)), "idn": tuple(rng.sample(idn, min(30, len(idn)))),
            "ipv4": tuple(rng.sample(ipv4, min(30, len(ipv4))))}


def ut1_sample(member: str, n: int) -> tuple[str, ...]:
    return ut1_picks(member)["any"][:n]


_SNAPSHOT = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=())


# ----------------------------------------------------------------------------- UT1 as default
def test_defaults_are_ut1_and_datatrove_word_lists(default_blocklist):
    assert len(default_blocklist.domains) == 4_558_940
    assert len(default_blocklist.urls) == 19_587
    assert {"porn", "xxx"} <= default_blocklist.words and "sexy" in default_blocklist.soft_words
    assert default_blocklist.subwords.found_in("bestpornhubvideos")
    assert isinstance(default_blocklist.domains.tables[0], np.memmap)  # shared page cache, not a copy


def test_sampled_ut1_domains_are_listed_and_blocked(default_blocklist):
    domains = ut1_sample("domains", 500)
    assert default_blocklist.domains.contains(domains).all()
    urls = [f"http://{d}/" for d in domains]
    datatrove_rule = url_decisions(urls, UrlFilterParams(), default_blocklist)
    for domain, result in zip(domains, datatrove_rule):
        parts = _SNAPSHOT(domain)
        if parts.top_domain_under_public_suffix == domain:
            assert result.reason == "url.banned_domain", domain
        elif parts.fqdn == domain:
            assert result.reason == "url.banned_subdomain", domain
        else:  # an IP address or a name without a public suffix: datatrove's rule never blocks it
            assert result.reason in (None, "url.banned_word", "url.soft_banned_words", "url.banned_subword")
    registered = sum(r.reason == "url.banned_domain" for r in datatrove_rule)
    subdomains = sum(r.reason == "url.banned_subdomain" for r in datatrove_rule)
    assert registered + subdomains >= 490 and subdomains > registered  # most UT1 entries are hosts
    parents_rule = url_decisions(urls, UrlFilterParams(domain_rule="parents"), default_blocklist)
    assert all(r.reason in ("url.banned_domain", "url.banned_subdomain") for r in parents_rule)


def test_sampled_ut1_urls_are_listed(default_blocklist, blocklist_dir):
    entries = ut1_sample("urls", 200)
    assert default_blocklist.urls.contains(entries).all()
    # datatrove's rule compares the URL string exactly: UT1's entries have no scheme
    assert not default_blocklist.urls.contains([f"https://{e}" for e in entries]).any()
    assert all(not url_filter(e, blocklist=default_blocklist).keep for e in entries)
    host_path = UrlFilterParams(url_rule="host_path")
    below = [f"https://www.{e.rstrip('/')}/more?x=1" for e in entries]
    results = url_decisions(below, host_path, load_blocklist(host_path, blocklist_dir))
    assert all(not r.keep for r in results)
    assert sum(r.reason == "url.banned_url" for r in results) >= 100


def test_ordinary_domains_pass(default_blocklist):
    for rule in ("datatrove", "parents"):
        results = url_decisions(ORDINARY_URLS, UrlFilterParams(domain_rule=rule), default_blocklist)
        assert [r.reason for r in results] == [None] * len(ORDINARY_URLS), rule


def test_batch_equals_single_and_chain_uses_real_lists(default_blocklist, tmp_path_factory, monkeypatch):
    urls = [*ORDINARY_URLS, "https://pornhub.com/x", None, "", "http://[::1", "tumblr.com/caribbeancamgirls",
            "https://example.com/free-porn", "https://example.com/sexy/nude", "https://example.com/pornhubfan"]
    batch = url_decisions(urls, UrlFilterParams(), default_blocklist)
    assert batch == [url_filter(u, blocklist=default_blocklist) for u in urls]
    assert [r.reason for r in batch[len(ORDINARY_URLS):]] == [
        "url.banned_domain", "url.missing", "url.missing", None, "url.banned_url",
        "url.banned_word", "url.soft_banned_words", "url.banned_subword"]
    monkeypatch.setenv(cache.CACHE_ENV, str(shared_cache_root(tmp_path_factory)))  # the session's lists
    assert run_chain("some text", "https://www.pornhub.com/").reason == "url.banned_domain"


# ----------------------------------------------------------------------------- rules on own lists
@pytest.fixture
def own_lists(tmp_path) -> UrlFilterParams:
    domains = tmp_path / "domains.txt"
    domains.write_text("# comment\nexample.co.uk\nblog.example.org\n\n10.1.2.3\nbad.example\n  spaced.com  \n")
    urls = tmp_path / "urls.txt"
    urls.write_text("example.net/private/\nhttps://example.net/exact\n")
    return UrlFilterParams(use_default_lists=False, banned_domains_paths=(str(domains),),
                           banned_urls_paths=(str(urls),))


def _reasons(urls, params, directory):
    return [r.reason for r in url_decisions(urls, params, load_blocklist(params, directory))]


def test_domain_rules_on_own_list(own_lists, tmp_path):
    urls = ["http://example.co.uk/", "http://a.b.example.co.uk/", "http://blog.example.org/",
            "http://www.blog.example.org/", "http://example.org/", "http://WWW.EXAMPLE.CO.UK/",
            "http://user:pw@blog.example.org:8080/x", "http://blog.example.org./", "http://10.1.2.3/",
            "http://x.bad.example/", "http://spaced.com/", "http://co.uk/"]
    assert _reasons(urls, own_lists, tmp_path) == [
        "url.banned_domain", "url.banned_domain", "url.banned_subdomain",
        None, None, None,  # datatrove: a listed host blocks itself only; case is kept
        "url.banned_subdomain", "url.banned_subdomain", None, None, "url.banned_domain", None]
    parents = UrlFilterParams(**{**own_lists.__dict__, "domain_rule": "parents"})
    assert _reasons(urls, parents, tmp_path) == [
        "url.banned_domain", "url.banned_domain", "url.banned_subdomain",
        "url.banned_subdomain", None, "url.banned_domain",
        "url.banned_subdomain", "url.banned_subdomain", "url.banned_domain", "url.banned_domain",
        "url.banned_domain", None]


def test_url_rules_on_own_list(own_lists, tmp_path):
    urls = ["https://example.net/exact", "https://example.net/exact/", "example.net/private/",
            "https://example.net/private", "https://www.Example.net/private/photos?id=2", "https://example.net/privateer"]
    assert _reasons(urls, own_lists, tmp_path) == ["url.banned_url", None, "url.banned_url", None, None, None]
    host_path = UrlFilterParams(**{**own_lists.__dict__, "url_rule": "host_path"})
    assert _reasons(urls, host_path, tmp_path) == [
        "url.banned_url", "url.banned_url", "url.banned_url", "url.banned_url", "url.banned_url", None]


def test_word_rules_follow_datatrove(tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("#ignored\nbad word\nBadder\n\n---\n")
    soft = tmp_path / "soft.txt"
    soft.write_text("soft\nsofter\nsoftest\n")
    subwords = tmp_path / "sub.txt"
    subwords.write_text("ab c\nabcd\nzz\n")
    params = UrlFilterParams(use_default_lists=False, banned_words_paths=(str(words),),
                             soft_banned_words_paths=(str(soft),), banned_subwords_paths=(str(subwords),))
    urls = ["https://x.org/badword", "https://x.org/bad-word", "https://x.org/BADDER", "https://x.org/badder/",
            "https://x.org/soft/softer", "https://x.org/soft/soft", "https://x.org/SOFT/softer", "https://x.org/A-B_C",
            "https://x.org/ignored"]
    assert _reasons(urls, params, tmp_path) == [
        "url.banned_word", None, None, "url.banned_word",  # BADDER: URL words keep their case
        "url.soft_banned_words", None, None, "url.banned_subword", None]  # A-B_C: subword "abc"
    off = UrlFilterParams(**{**params.__dict__, "soft_word_threshold": None})
    assert _reasons(["https://x.org/soft/softer"], off, tmp_path) == [None]
    assert url_filter("https://x.org/soft/softer", params, load_blocklist(params, tmp_path)).stats == {"url.n_soft_words": 2}


def test_subword_matcher_finds_what_a_plain_search_finds():
    words = frozenset({"ab", "abc", "b", "xyz", "xy9", "q"} | {f"w{i}" for i in range(50)})
    matcher = SubwordMatcher(words)
    rng = random.Random(SEED)
    texts = ["".join(rng.choice("abxyzqw0123456789") for _ in range(rng.randrange(0, 12))) for _ in range(3000)]
    for text in texts:
        assert matcher.found_in(text) == any(w in text for w in words), text


def test_bad_params_and_missing_files(tmp_path):
    with pytest.raises(ValueError, match="domain_rule"):
        UrlFilterParams(domain_rule="suffixes")
    with pytest.raises(ValueError, match="url_rule"):
        UrlFilterParams(url_rule="prefix")
    with pytest.raises(FileNotFoundError):
        load_blocklist(UrlFilterParams(use_default_lists=False, banned_domains_paths=(str(tmp_path / "no.txt"),)), tmp_path)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("caf\xe9.example\n".encode("latin-1"))
    with pytest.raises(ValueError, match="latin1.txt: not UTF-8"):
        load_blocklist(UrlFilterParams(use_default_lists=False, banned_domains_paths=(str(latin1),)), tmp_path)


def test_without_datatrove_a_clear_error_and_own_lists_still_work(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "datatrove", None)  # find_spec now answers "not installed"
    with pytest.raises(DefaultListsMissing, match="datatrove is not installed.*banned_domains_paths"):
        load_blocklist(UrlFilterParams(), tmp_path)
    domains = tmp_path / "d.txt"
    domains.write_text("bad.com\n")
    params = UrlFilterParams(use_default_lists=False, banned_domains_paths=(str(domains),))
    assert _reasons(["http://bad.com/", "http://good.com/"], params, tmp_path) == ["url.banned_domain", None]


# ----------------------------------------------------------------------------- hashed sets
def test_hashed_set_membership():
    rng = random.Random(SEED)
    members = {f"{rng.getrandbits(40):x}.example" for _ in range(5000)}
    others = [f"{rng.getrandbits(40):x}.other" for _ in range(5000)]
    hashed = HashedSet.of(members)
    assert len(hashed) == len(members)
    assert hashed.contains(sorted(members)).all() and not hashed.contains(others).any()
    top = hashed.tables[0][-1]  # the largest hash: searchsorted's boundary
    beyond = np.uint64(2**64 - 1)
    assert hashed.contains_hashes(np.array([top, beyond])).tolist() == [True, bool(top == beyond)]
    assert HashedSet().contains(["a"]).tolist() == [False] and hashed.contains([]).shape == (0,)
    assert hash_strings(["a", "\udcff"]).tolist() == [string_hash("a"), string_hash("\udcff")]
    with pytest.raises(ValueError):
        HashedSet(np.zeros(3, dtype=np.int64))
    union = HashedSet(HashedSet.of(["a"]).tables[0], HashedSet.of(["b"]).tables[0])
    assert union.contains(["a", "b", "c"]).tolist() == [True, True, False]


# ----------------------------------------------------------------------------- the cache
def _list_file(tmp_path, n=1000, name="list.txt") -> Path:
    path = tmp_path / name
    path.write_text("".join(f"site{i}.example\n" for i in range(n)))
    return path


def test_cache_built_once_reused_and_rebuilt_on_change(tmp_path, monkeypatch):
    source = ListSource(str(_list_file(tmp_path)))
    directory = tmp_path / "cache"
    first = cached_hashes(source, directory)
    path = cache_path(source, directory)
    assert path.is_file() and isinstance(first, np.memmap) and not first.flags.writeable
    assert path.stat().st_mode & 0o444 == 0o444
    assert first.tolist() == sorted(set(hash_strings(f"site{i}.example" for i in range(1000)).tolist()))

    def no_build(*args):
        raise AssertionError("rebuilt a cached list")

    monkeypatch.setattr(url_blocklist, "build_atomically", no_build)
    assert cached_hashes(source, directory).tolist() == first.tolist()  # reused
    monkeypatch.undo()

    _list_file(tmp_path, n=1001)  # the file changes: a new key, a new array
    changed = cached_hashes(source, directory)
    assert cache_path(source, directory) != path and len(changed) == 1001
    assert sorted(p.name for p in directory.iterdir()) == sorted([path.name, cache_path(source, directory).name])


def test_damaged_cache_file_is_rebuilt(tmp_path):
    source = ListSource(str(_list_file(tmp_path, 10)))
    path = cache_path(source, tmp_path / "cache")
    path.parent.mkdir()
    path.write_bytes(b"not an npy file")
    assert len(cached_hashes(source, tmp_path / "cache")) == 10


def test_build_atomically_leaves_nothing_on_failure_and_tolerates_a_concurrent_builder(tmp_path):
    dest = tmp_path / "x.bin"

    def failing(tmp: Path):
        tmp.write_bytes(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        cache.build_atomically(dest, failing)
    assert list(tmp_path.iterdir()) == []

    def racing(tmp: Path):  # another builder finishes while this one is still writing
        cache.build_atomically(dest, lambda other: other.write_bytes(b"same"))
        tmp.write_bytes(b"same")

    cache.build_atomically(dest, racing)
    assert dest.read_bytes() == b"same" and [p.name for p in tmp_path.iterdir()] == ["x.bin"]


_BUILDER = """
import sys, time
from pathlib import Path
from core.filters.url_blocklist import ListSource, cached_hashes
start = Path(sys.argv[3])
while not start.exists():  # all builders start together
    time.sleep(0.005)
cached_hashes(ListSource(sys.argv[1]), Path(sys.argv[2]))
"""


def test_concurrent_builders_in_processes(tmp_path):
    source = ListSource(str(_list_file(tmp_path, 100_000)))
    directory, start = tmp_path / "cache", tmp_path / "start"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    builders = [subprocess.Popen([sys.executable, "-c", _BUILDER, source.path, str(directory), str(start)],
                                 env=env, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    time.sleep(0.5)
    start.touch()
    errors = [builder.communicate(timeout=300)[1] for builder in builders]
    assert [b.returncode for b in builders] == [0, 0, 0], errors
    assert [p.name for p in directory.iterdir()] == [cache_path(source, directory).name]  # no temp left
    expected = np.sort(hash_strings(f"site{i}.example" for i in range(100_000)))
    assert np.array_equal(cached_hashes(source, directory), expected)


def test_cache_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "c"))
    assert cache.cache_dir("url-blocklists") == tmp_path / "c" / "url-blocklists"
    assert (tmp_path / "c" / "url-blocklists").is_dir()
    monkeypatch.delenv(cache.CACHE_ENV)
    assert cache.cache_root() == Path.home() / ".cache" / "cc-refinery"
