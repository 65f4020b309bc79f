"""Comparing a table's Arrow schema with its contract, as the Ray stages' checks do."""
from __future__ import annotations

import pyarrow as pa

_STRINGS = (pa.string(), pa.large_string(), pa.string_view())


def type_signature(dtype: pa.DataType):
    """A comparable form of a type that ignores list field names and string/list widths (delta-rs
    may read a contract `list<item>` back as `list<element>`)."""
    if dtype in _STRINGS:
        return "string"
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype) or pa.types.is_list_view(dtype):
        return ("list", type_signature(dtype.value_type))
    if pa.types.is_struct(dtype):
        return ("struct", tuple((f.name, type_signature(f.type)) for f in dtype))
    return str(dtype)


def contract_differences(actual: pa.Schema | None, contract: pa.Schema) -> list[str]:
    """Columns missing, unexpected or of another type than the contract's (empty: equal)."""
    if actual is None:
        return ["no Delta table"]
    found = {f.name: f.type for f in actual}
    wanted = {f.name: f.type for f in contract}
    out = [f"missing column {name}" for name in wanted if name not in found]
    out += [f"unexpected column {name}" for name in found if name not in wanted]
    out += [f"{name}: {found[name]} instead of {kind}" for name, kind in wanted.items()
            if name in found and type_signature(found[name]) != type_signature(kind)]
    return out
