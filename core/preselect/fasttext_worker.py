"""Runs one fastText training in its own process, where every allocation starts zero-filled.

Invoked by `train.train_fasttext` as `python -m core.preselect.fasttext_worker <request.json>` with
`MALLOC_PERTURB_=255` (see `train`'s module doc for why). The request holds the training
file, the model path and fastText's arguments; the worker trains, zeroes the `</s>` row if asked,
saves the model and writes `{"eos": id or null}` to the request's `result` path.
"""
from __future__ import annotations

import json
import sys

import numpy as np


def main(request_path: str) -> int:
    import fasttext

    from core.preselect.train import zero_eos_row

    with open(request_path, encoding="utf-8") as fh:
        request = json.load(fh)
    model = fasttext.train_supervised(input=request["input"], **request["args"])
    if not np.isfinite(model.get_input_matrix()).all():
        print(f"fastText left non-finite weights in the input matrix of {request['model_path']}", file=sys.stderr)
        return 3
    eos = zero_eos_row(model) if request["zero_eos"] else None
    model.save_model(request["model_path"])
    with open(request["result"], "w", encoding="utf-8") as fh:
        json.dump({"eos": eos}, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
