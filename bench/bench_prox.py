"""ProX refinement throughput and effect, on one core, in one process.

Two parts (choose with `--part`):
- `rule`: the rule-based writer over real pages through `core.prox.refine.refine_documents`
  (writer + executor), then the executor alone re-running the same programs
  (`execute_doc_program`, `execute_chunk_programs`); documents/s of each, and what refinement did:
  share of documents dropped, share of lines removed, character and word retention of each
  stage, beside ProX's published token retention on RedPajama-V2 (document stage kept 19.0 of
  62.5B tokens, chunk stage 16.0 of those 19.0).
- `model`: the transformers backend (`TransformersGenerator`, left-padded batches, greedy) writing
  chunk programs with the embedded SmolLM2-135M-Instruct GGUF on CPU, against a plain loop of
  `model.generate` over the same prompt ids one at a time; generated tokens/s of each, and whether
  both wrote the same programs.

Input: WARC / WET files or directories (default: the real Common Crawl samples in
../shared/data/commoncrawl; the benchmark corpus is bench/out/corpus/crawl-data/CC-MAIN-BENCH).

    .venv/bin/python bench/bench_prox.py [DIR_OR_FILES ...] [--part rule,model] [--limit N]
        [--model-prompts 8] [--max-new-tokens 32] [--batch-size 4] [--json out.jsonl]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from common import emit_result  # noqa: E402
from core.prox.execute import execute_chunk_programs, execute_doc_program  # noqa: E402
from core.prox.prompts import chunk_prompt  # noqa: E402
from core.prox.refine import RefinementParams, document_chunks, refine_documents  # noqa: E402
from core.prox.stats import batch_stats  # noqa: E402
from core.prox.writer import RuleProgramWriter  # noqa: E402
from core.warc.extract import extract_file  # noqa: E402

DEFAULT_INPUT = REPO.parent / "shared" / "data" / "commoncrawl"
# ProX (arXiv 2409.17115), RedPajama-V2: 62.5B tokens -> 19.0B after the document stage -> 16.0B
PUBLISHED = {"doc_stage_token_retention": round(19.0 / 62.5, 4), "chunk_stage_token_retention": round(16.0 / 19.0, 4)}


def warc_files(inputs: list[str]) -> list[Path]:
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*.gz") if p.name.endswith((".warc.gz", ".warc.wet.gz")))
        else:
            files.append(path)
    return files


def load_texts(inputs: list[str], limit: int | None) -> list[str]:
    texts: list[str] = []
    for path in warc_files(inputs):
        for event in extract_file(str(path), path.name.split("__")[0]):
            if isinstance(event, dict) and event.get("text"):
                texts.append(event["text"])
                if limit and len(texts) >= limit:
                    return texts
    return texts


def bench_rule(texts: list[str], batch: int) -> dict:
    writer, params = RuleProgramWriter(), RefinementParams()
    start = time.perf_counter()
    outcomes = [o for i in range(0, len(texts), batch) for o in refine_documents(texts[i: i + batch], writer, params)]
    refine_seconds = time.perf_counter() - start

    # the executor alone, on the programs just written (chunks recomputed outside the timing)
    budget = writer.chunk_budget(params.chunk_max_tokens)
    jobs = [(text, o.doc_program, document_chunks(text, writer, budget) if o.chunk_programs else (), o.chunk_programs)
            for text, o in zip(texts, outcomes)]
    start = time.perf_counter()
    for text, doc_program, chunks, programs in jobs:
        execute_doc_program(text, doc_program, params.execution)
        if programs:
            execute_chunk_programs(text, chunks, programs, params.execution)
    execute_seconds = time.perf_counter() - start

    stats = batch_stats([str(i) for i in range(len(texts))], outcomes, texts)
    return {
        "documents": len(texts),
        "characters": sum(map(len, texts)),
        "refine_seconds": round(refine_seconds, 3),
        "refine_documents_per_second": round(len(texts) / refine_seconds, 1) if refine_seconds else None,
        "execute_seconds": round(execute_seconds, 3),
        "execute_documents_per_second": round(len(texts) / execute_seconds, 1) if execute_seconds else None,
        "actions": dict(stats.actions),
        "drop_rate": round(stats.drop_rate, 4),
        "dropped_by_stage": dict(stats.dropped_by_stage),
        "lines_removed_share": round(stats.lines_removed_share, 4),
        "doc_stage_char_retention": round(stats.doc_stage_char_retention, 4),
        "chunk_stage_char_retention": round(stats.chunk_stage_char_retention, 4),
        "doc_stage_word_retention": round(stats.doc_stage_word_retention, 4),
        "chunk_stage_word_retention": round(stats.chunk_stage_word_retention, 4),
        "error_rate": round(stats.error_rate, 4),
        "published": PUBLISHED,
    }


def plain_generate_loop(lm, prompts: list[list[int]], max_new_tokens: int, eos: list[int], pad: int) -> tuple[list, int]:
    """`model.generate` one prompt at a time, no padding: the baseline."""
    import torch

    texts, new_tokens = [], 0
    with torch.inference_mode():
        for ids in prompts:
            out = lm.model.generate(torch.tensor([ids], device=lm.device), do_sample=False, num_beams=1,
                                    max_new_tokens=max_new_tokens, eos_token_id=eos, pad_token_id=pad,
                                    temperature=None, top_p=None, top_k=None)[0, len(ids):].tolist()
            end = next((k for k, t in enumerate(out) if t in eos), len(out))
            texts.append(lm.tokenizer.decode(out[:end], skip_special_tokens=True))
            new_tokens += min(len(out), end + 1)
    return texts, new_tokens


def bench_model(texts: list[str], n_prompts: int, max_new_tokens: int, batch_size: int) -> dict:
    import torch

    from core.preselect.reference_models import embedded_smollm2_path, load_causal_lm
    from core.prox.backends.generative import GenerationSettings, GenerativeProgramWriter
    from core.prox.backends.transformers_backend import TransformersGenerator

    start = time.perf_counter()
    lm = load_causal_lm(embedded_smollm2_path(), device="cpu")
    load_seconds = time.perf_counter() - start
    generator = TransformersGenerator(lm, batch_size)
    writer = GenerativeProgramWriter(None, generator, GenerationSettings(chunk_max_new_tokens=max_new_tokens))
    budget = writer.chunk_budget(RefinementParams().chunk_max_tokens)
    users = [chunk_prompt(c) for text in texts for c in document_chunks(text, writer, budget)][:n_prompts]
    prompts = writer.chunk_chat.ids(users)
    generator.generate(prompts[:1], [4])  # warm-up

    start = time.perf_counter()
    batched = generator.generate(prompts, [max_new_tokens] * len(prompts))
    batched_seconds = time.perf_counter() - start
    start = time.perf_counter()
    plain, plain_tokens = plain_generate_loop(lm, prompts, max_new_tokens, sorted(generator.eos_ids), generator.pad_id)
    plain_seconds = time.perf_counter() - start
    batched_tokens = sum(g.new_tokens for g in batched)
    return {
        "model": lm.name,
        "torch_threads": torch.get_num_threads(),
        "load_seconds": round(load_seconds, 1),
        "prompts": len(prompts),
        "prompt_tokens": sum(map(len, prompts)),
        "max_new_tokens": max_new_tokens,
        "batch_size": batch_size,
        "backend_seconds": round(batched_seconds, 2),
        "backend_new_tokens": batched_tokens,
        "backend_tokens_per_second": round(batched_tokens / batched_seconds, 1) if batched_seconds else None,
        "plain_seconds": round(plain_seconds, 2),
        "plain_new_tokens": plain_tokens,
        "plain_tokens_per_second": round(plain_tokens / plain_seconds, 1) if plain_seconds else None,
        "same_programs": sum(g.text == p for g, p in zip(batched, plain)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="*", default=[str(DEFAULT_INPUT)])
    ap.add_argument("--part", default="rule,model", help="rule, model or both (comma-separated)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N documents")
    ap.add_argument("--batch", type=int, default=64, help="documents per refine_documents call (rule part)")
    ap.add_argument("--model-prompts", type=int, default=8, help="chunk prompts generated (model part)")
    ap.add_argument("--max-new-tokens", type=int, default=32, help="per chunk prompt (ProX: 256)")
    ap.add_argument("--batch-size", type=int, default=4, help="prompts per generate call (model part)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (a Ray actor with one CPU: 1)")
    ap.add_argument("--json", default=None, help="append the result to this JSON-lines file")
    args = ap.parse_args()

    parts = set(args.part.split(","))
    if not parts <= {"rule", "model"}:
        ap.error(f"--part takes rule and/or model, got {args.part!r}")
    texts = load_texts(args.inputs, args.limit)
    if not texts:
        ap.error(f"no documents with text in {args.inputs}")
    result: dict = {"bench": "prox", "inputs": args.inputs}
    if "rule" in parts:
        result["rule"] = bench_rule(texts, args.batch)
    if "model" in parts:
        import torch

        torch.set_num_threads(args.threads)
        result["model"] = bench_model(texts, args.model_prompts, args.max_new_tokens, args.batch_size)
    emit_result(result, args.json)


if __name__ == "__main__":
    main()
