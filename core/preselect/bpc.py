"""Bits per character of documents under a causal LM (PreSelect's loss C), batched.

    BPC(doc) = sum of the token negative log-likelihoods of the document (nats) / (characters x ln 2)

Characters are Python characters (Unicode code points), as the released `len(data["text"])`.

Sliding window (released `bpc/main.py` + `packed_dataset.py`, block 1,900, stride 512): the first
window feeds tokens [0, block) and scores targets 1..block; each next window ends `stride` tokens
later, feeds the `block` tokens before its end and scores only its last `stride` targets (those no
window scored yet), so every token after the first is scored exactly once with at least
`block - stride` tokens of context. `window_plan` gives the windows; the block is clamped to the
model's context length.

Differences from the released code, on purpose:
- it concatenates every document into one token stream, so a document is predicted with the end of
  the previous one as context and is charged for predicting the next document's BOS; here each
  document is scored alone, starting from the tokenizer's BOS (EOS when it has no BOS; nothing when
  it has neither, and then the first token goes unscored);
- its last window ends at the last full block, so the tail of the stream (up to `stride` tokens,
  and the documents in it, which are never written out) is not scored; here a final window scores it;
- its dataset is stateful and works only with batch size 1 in order; here windows of many documents
  are sorted by length and packed into batches of at most `max_batch_tokens` tokens (right padding:
  with causal attention a real token never sees the padding after it);
- logits are computed only at the scored positions (decoder hidden states -> output embeddings, in
  chunks), not for the whole window: a 1,900-token window of a 49k-token vocabulary would need
  0.37 GB of float32 logits. `check_logits_path` verifies this equals the model's own forward.

An empty text (or one `max_chars` truncates to nothing, or that tokenizes to nothing) has no BPC:
NaN, with `empty` set; nothing is run for it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from core.preselect.reference_models import LoadedLM, ReferenceModel

LN2 = math.log(2.0)


@dataclass(frozen=True)
class BpcParams:
    block_size: int = 1900  # released bpc/main.py --block_size 1900 (clamped to the model's context)
    stride: int = 512  # released bpc/main.py --stride 512
    max_batch_tokens: int = 8192  # padded tokens per forward pass (memory bound; not in the released code)
    by_length: bool = True  # sort windows by length before batching (bench/bench_preselect_bpc.py)
    logits_chunk: int = 1024  # scored positions per output-layer matmul (bounds logits memory)
    max_chars: int | None = None  # score only a document's first max_chars characters; None: whole (released)


@dataclass(frozen=True)
class BpcResult:
    """Per document: bits per character and what it was computed from (numpy arrays, input order)."""
    bpc: np.ndarray  # float64, NaN when empty
    nll_nats: np.ndarray  # float64, summed negative log-likelihood of the scored tokens
    n_chars: np.ndarray  # int64, characters scored (after max_chars)
    n_tokens: np.ndarray  # int64, tokens of the text (without the BOS/EOS context token)
    n_scored: np.ndarray  # int64, tokens whose NLL is in the sum
    truncated: np.ndarray  # bool, max_chars cut the text
    empty: np.ndarray  # bool, nothing to score: bpc is NaN


@dataclass(frozen=True)
class Window:
    doc: int  # index of the document in the batch
    start: int  # first input position in the document's token stream
    end: int  # one past the last target position
    n_scored: int  # the last n_scored targets are scored

    @property
    def n_inputs(self) -> int:
        return self.end - 1 - self.start


def window_plan(n_stream: int, block: int, stride: int) -> list[tuple[int, int, int]]:
    """(start, end, n_scored) windows over a token stream of `n_stream` tokens (see module doc).

    Inputs are stream[start:end-1], targets stream[start+1:end]; the last n_scored targets are
    scored. Every position 1..n_stream-1 is scored exactly once; inputs never exceed `block`."""
    if block < 1 or not 1 <= stride <= block:
        raise ValueError(f"need block >= 1 and 1 <= stride <= block, got block={block}, stride={stride}")
    plan: list[tuple[int, int, int]] = []
    if n_stream < 2:
        return plan
    prev, end = 1, min(block + 1, n_stream)
    while True:
        plan.append((max(0, end - block - 1), end, end - prev))
        if end == n_stream:
            return plan
        prev, end = end, min(end + stride, n_stream)


def context_token_id(tokenizer) -> int | None:
    """The token a document is scored after: BOS, else EOS (documents are separated by it), else none."""
    for tid in (getattr(tokenizer, "bos_token_id", None), getattr(tokenizer, "eos_token_id", None)):
        if tid is not None:
            return int(tid)
    return None


def token_streams(tokenizer, texts: Sequence[str]) -> list[list[int]]:
    """Each text's tokens (no special tokens) after the context token; [] for an empty text."""
    first = context_token_id(tokenizer)
    prefix = [first] if first is not None else []
    todo = [i for i, t in enumerate(texts) if t]
    streams: list[list[int]] = [[] for _ in texts]
    if todo:
        encoded = tokenizer([texts[i] for i in todo], add_special_tokens=False)["input_ids"]
        for i, ids in zip(todo, encoded):
            streams[i] = prefix + list(ids) if ids else []
    return streams


def _plan_windows(streams: list[list[int]], block: int, stride: int) -> list[Window]:
    return [Window(d, s, e, k) for d, stream in enumerate(streams) for s, e, k in window_plan(len(stream), block, stride)]


def _batches(windows: list[Window], max_batch_tokens: int, by_length: bool = True) -> list[list[Window]]:
    """Windows packed into batches of at most `max_batch_tokens` padded tokens (rows x longest row),
    sorted longest first when `by_length` (so rows of a batch have similar lengths), else in input order."""
    ordered = sorted(windows, key=lambda w: -w.n_inputs) if by_length else windows
    batches, current, width = [], [], 0
    for w in ordered:
        if current and (len(current) + 1) * max(width, w.n_inputs) > max_batch_tokens:
            batches.append(current)
            current, width = [], 0
        current.append(w)
        width = max(width, w.n_inputs)
    if current:
        batches.append(current)
    return batches


def _logits(model, hidden: torch.Tensor) -> torch.Tensor:
    logits = model.get_output_embeddings()(hidden).float()
    cap = getattr(model.config, "final_logit_softcapping", None)
    return torch.tanh(logits / cap) * cap if cap else logits


def _batch_nll(lm: LoadedLM, streams: list[list[int]], batch: list[Window], logits_chunk: int) -> np.ndarray:
    """Summed NLL (nats) of the scored targets of each window of `batch`."""
    width = max(w.n_inputs for w in batch)
    ids = torch.zeros((len(batch), width), dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    rows, cols, targets, owner = [], [], [], []
    for r, w in enumerate(batch):
        stream = streams[w.doc]
        n = w.n_inputs
        ids[r, :n] = torch.tensor(stream[w.start:w.end - 1])
        mask[r, :n] = 1
        rows += [r] * w.n_scored
        cols += range(n - w.n_scored, n)
        targets += stream[w.end - w.n_scored:w.end]
        owner += [r] * w.n_scored
    hidden = lm.model.base_model(input_ids=ids.to(lm.device), attention_mask=mask.to(lm.device),
                                 use_cache=False).last_hidden_state
    picked = hidden[torch.tensor(rows, device=lm.device), torch.tensor(cols, device=lm.device)]
    target = torch.tensor(targets, device=lm.device)
    nll = torch.cat([
        torch.nn.functional.cross_entropy(_logits(lm.model, picked[i:i + logits_chunk]), target[i:i + logits_chunk],
                                          reduction="none")
        for i in range(0, len(targets), logits_chunk)
    ])
    sums = np.zeros(len(batch), dtype=np.float64)
    np.add.at(sums, np.asarray(owner), nll.double().cpu().numpy())
    return sums


def bits_per_character(lm: LoadedLM, texts: Sequence[str | None], params: BpcParams = BpcParams()) -> BpcResult:
    """Bits per character of every text under `lm` (one batch; see the module doc)."""
    block = min(params.block_size, lm.context_length)
    stride = min(params.stride, block)
    cut = [(t or "")[: params.max_chars] if params.max_chars is not None else (t or "") for t in texts]
    streams = token_streams(lm.tokenizer, cut)
    windows = _plan_windows(streams, block, stride)
    nll = np.zeros(len(cut), dtype=np.float64)
    scored = np.zeros(len(cut), dtype=np.int64)
    with torch.inference_mode():
        for batch in _batches(windows, params.max_batch_tokens, params.by_length):
            sums = _batch_nll(lm, streams, batch, params.logits_chunk)
            for w, s in zip(batch, sums):
                nll[w.doc] += s
                scored[w.doc] += w.n_scored
    n_chars = np.array([len(t) for t in cut], dtype=np.int64)
    empty = scored == 0
    bpc = np.full(len(cut), np.nan)
    ok = ~empty & (n_chars > 0)
    bpc[ok] = nll[ok] / (n_chars[ok] * LN2)
    prefix = 1 if context_token_id(lm.tokenizer) is not None else 0
    n_tokens = np.array([max(len(s) - prefix, 0) for s in streams], dtype=np.int64)
    truncated = np.array([len(c) < len(t or "") for c, t in zip(cut, texts)], dtype=bool)
    return BpcResult(bpc, nll, n_chars, n_tokens, scored, truncated, empty)


def family_bpc(family: Sequence[ReferenceModel], texts: Sequence[str | None], params: BpcParams = BpcParams()) -> np.ndarray:
    """(n_texts, n_models) bits per character, one column per reference model in `family` order."""
    if not family:
        raise ValueError("family_bpc needs at least one reference model")
    return np.column_stack([bits_per_character(m.lm, texts, params).bpc for m in family])


def full_forward_nll(lm: LoadedLM, text: str) -> tuple[float, int]:
    """(summed NLL in nats, scored tokens) of one text from the model's own forward over the whole
    stream, no windows: the reference that `check_logits_path` and the tests compare against."""
    stream = token_streams(lm.tokenizer, [text])[0]
    if len(stream) < 2:
        return 0.0, 0
    ids = torch.tensor([stream], device=lm.device)
    with torch.inference_mode():
        logits = lm.model(input_ids=ids, use_cache=False).logits[0, :-1].float()
        nll = torch.nn.functional.cross_entropy(logits, ids[0, 1:], reduction="sum")
    return float(nll), len(stream) - 1


def check_logits_path(lm: LoadedLM, text: str = "The quick brown fox jumps over the lazy dog.", rtol: float = 1e-3) -> None:
    """Raise if scoring through hidden states + output embeddings disagrees with the model's forward
    (an architecture whose logits need more than that); cheap, one short forward each."""
    expected, n = full_forward_nll(lm, text)
    got = bits_per_character(lm, [text]).nll_nats[0]
    if n == 0 or not math.isclose(got, expected, rel_tol=rtol):
        raise ValueError(f"{lm.name}: windowed scoring gives NLL {got:.6f} but the model's forward gives {expected:.6f}")
