"""PII replacement as datatrove's PIIFormatter (FineWeb's last step): e-mail addresses and public
IPv4 addresses become fixed placeholders; private, loopback and reserved addresses are kept.

Own regular expressions after datatrove's: an e-mail is an RFC 5322 dot-atom local part, `@`, and a
domain of dot-separated labels (or a bracketed IPv4 literal); an IPv4 address is four 0-255 octets.
Differences, deliberate: placeholders cycle per document from the first one (datatrove's counter
runs across documents, so its output depends on processing order), and an IPv4 match may not touch
a further digit or `.digit` (datatrove would replace the `234.5.6.7` inside `1234.5.6.7` or a version
number `1.2.3.4.5`).
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from core.filters.base import Document, FilterResult, FilterStep, int_stats

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)"
EMAIL_RE = re.compile(
    rf"\b{_ATOM}(?:\.{_ATOM})*@(?:(?:{_LABEL}\.)+{_LABEL}|\[(?:{_OCTET}\.){{3}}(?:{_OCTET}|[A-Za-z0-9-]*[A-Za-z0-9]:)\])"
)
IPV4_RE = re.compile(rf"(?<![0-9])(?<![0-9]\.)(?:{_OCTET}\.){{3}}{_OCTET}(?![0-9])(?!\.[0-9])")


@dataclass(frozen=True)
class PiiParams:
    remove_emails: bool = True  # datatrove PIIFormatter remove_emails=True
    remove_ips: bool = True  # datatrove PIIFormatter remove_ips=True
    only_remove_public_ips: bool = True  # datatrove PIIFormatter only_remove_public_ips=True
    # datatrove PIIFormatter email_replacement (example.com/org are reserved example domains)
    email_replacements: tuple[str, ...] = ("email@example.com", "firstname.lastname@example.org")
    # datatrove PIIFormatter ip_replacement (addresses that did not answer pings)
    ip_replacements: tuple[str, ...] = (
        "22.214.171.124", "126.96.36.199", "188.8.131.52", "184.108.40.206", "220.127.116.11", "18.104.22.168",
    )


def _is_public(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_global
    except ValueError:
        return False


def scrub_pii(text: str, params: PiiParams = PiiParams()) -> FilterResult:
    """Replace e-mail addresses and public IPs; always keeps the document, returns the new text."""
    counts = {"pii.n_emails": 0, "pii.n_ips": 0}
    if params.remove_emails and "@" in text:
        cycle = params.email_replacements

        def email(match: re.Match) -> str:
            i = counts["pii.n_emails"]
            counts["pii.n_emails"] = i + 1
            return cycle[i % len(cycle)]

        text = EMAIL_RE.sub(email, text)
    if params.remove_ips and "." in text:
        cycle = params.ip_replacements

        def ip(match: re.Match) -> str:
            if params.only_remove_public_ips and not _is_public(match.group(0)):
                return match.group(0)
            i = counts["pii.n_ips"]
            counts["pii.n_ips"] = i + 1
            return cycle[i % len(cycle)]

        text = IPV4_RE.sub(ip, text)
    return FilterResult(True, None, counts, text=text)


def _apply(doc: Document, params: PiiParams) -> FilterResult:
    return scrub_pii(doc.text, params)


PII_STEP = FilterStep(
    name="pii",
    params_type=PiiParams,
    statistics=int_stats("pii", "n_emails", "n_ips"),
    apply=_apply,
    only_on_kept=True,  # scrubs what is kept; a dropped document keeps its text as it came
)
