"""Shared by the bench scripts: print a result and append it to a JSON-lines file."""
from __future__ import annotations

import json


def emit_result(result: dict, json_path: str | None) -> None:
    print(json.dumps(result, indent=2))
    if json_path:
        with open(json_path, "a") as fh:
            fh.write(json.dumps(result) + "\n")
