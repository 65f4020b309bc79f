"""Node strings: how the dedup job names a document, so that plain string order is the
representative rule and a component's smallest member is its representative.

The rule: (snapshot, fetch_time, doc_id) ascending, nulls last. Earlier crawls sort first, then the
earliest fetch, then doc_id breaks ties. A node is `snapshot SEP fetch-time SEP doc_id`, the time
written as `yyyy-MM-dd HH:mm:ss.SSSSSS` (fixed width, so it sorts as it reads).
"""
from __future__ import annotations

# \x01 sorts below every printable character, so a shorter snapshot id that is a prefix of a longer
# one still sorts first, as the plain ids do.
SEP = "\x01"
NO_TIME = "9999-12-31 23:59:59.999999"  # a null fetch_time sorts last


def node_column(snapshot="snapshot", fetch_time="fetch_time", doc_id="doc_id"):
    """The node string of a document; string order == (snapshot, fetch_time nulls last, doc_id)."""
    from pyspark.sql import functions as F

    ts = F.coalesce(F.date_format(F.col(fetch_time), "yyyy-MM-dd HH:mm:ss.SSSSSS"), F.lit(NO_TIME))
    return F.concat_ws(SEP, F.col(snapshot), ts, F.col(doc_id))


def _node_part(node, index: int):
    """Part `index` of a node string, split into at most 3 parts (so a doc_id keeps anything it
    contains)."""
    from pyspark.sql import functions as F

    return F.split(node, SEP, 3).getItem(index)


def node_snapshot(node):
    """The snapshot of a node string column."""
    return _node_part(node, 0)


def node_doc_id(node):
    """The doc_id of a node string column."""
    return _node_part(node, 2)
