"""Builds the ONNX graph of all-MiniLM-L6-v2 straight from its safetensors weights.

Setup-time only (`ragd model fetch` runs it once); ragd itself never runs Python. Needs only the
small packages onnx, numpy and safetensors - no PyTorch. The graph is a standard opset-17 BERT
encoder followed by sentence-transformers' pooling: mean over the attention mask, then L2
normalisation, so its one output is the final sentence embedding.

Usage: build_onnx.py MODEL_DIR OUT.onnx   (MODEL_DIR holds model.safetensors and config.json)
"""

import json
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file


def build(model_dir: str, out_path: str) -> None:
    cfg = json.load(open(f"{model_dir}/config.json"))
    w = load_file(f"{model_dir}/model.safetensors")
    w = {k.removeprefix("bert."): v.astype(np.float32) for k, v in w.items()}
    hidden, heads, layers = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    head_dim = hidden // heads
    eps = float(cfg.get("layer_norm_eps", 1e-12))

    inits, nodes = [], []

    def const(name, array):
        inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(op, inputs, name, **attrs):
        nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def linear(x, prefix, name):
        # Weights are stored [out, in]; MatMul wants [in, out].
        mm = node("MatMul", [x, const(f"{prefix}.wT", w[f"{prefix}.weight"].T.copy())], f"{name}_mm")
        return node("Add", [mm, const(f"{prefix}.b", w[f"{prefix}.bias"])], name)

    def layer_norm(x, prefix, name):
        return node("LayerNormalization", [x, const(f"{prefix}.g", w[f"{prefix}.weight"]), const(f"{prefix}.beta", w[f"{prefix}.bias"])],
                    name, axis=-1, epsilon=eps)

    # Embeddings. Single-segment input: token type 0 everywhere, folded into the position table.
    word = node("Gather", [const("word_emb", w["embeddings.word_embeddings.weight"]), "input_ids"], "word", axis=0)
    pos_type = w["embeddings.position_embeddings.weight"] + w["embeddings.token_type_embeddings.weight"][0]
    seq_len = node("Gather", [node("Shape", ["input_ids"], "ids_shape"), const("one_i", np.array(1, np.int64))], "seq_len", axis=0)
    seq_len_1d = node("Unsqueeze", [seq_len, const("axes0", np.array([0], np.int64))], "seq_len_1d")
    pos = node("Slice", [const("pos_type_emb", pos_type), const("zero_1d", np.array([0], np.int64)), seq_len_1d], "pos")
    x = layer_norm(node("Add", [word, pos], "emb_sum"), "embeddings.LayerNorm", "emb")

    # Additive attention mask [B, 1, 1, S]: 0 where attended, a large negative number on padding.
    mask_f = node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    inv = node("Sub", [const("one_f", np.array(1.0, np.float32)), mask_f], "mask_inv")
    neg = node("Mul", [inv, const("neg_big", np.array(-1e9, np.float32))], "mask_neg")
    ext = node("Unsqueeze", [neg, const("axes12", np.array([1, 2], np.int64))], "mask_ext")

    to_heads = const("to_heads", np.array([0, 0, heads, head_dim], np.int64))
    from_heads = const("from_heads", np.array([0, 0, hidden], np.int64))
    scale = const("scale", np.array(1.0 / np.sqrt(head_dim), np.float32))
    for i in range(layers):
        p = f"encoder.layer.{i}"
        # One MatMul for Q, K and V together, then split.
        qkv_w = np.concatenate([w[f"{p}.attention.self.{n}.weight"] for n in ("query", "key", "value")], axis=0).T.copy()
        qkv_b = np.concatenate([w[f"{p}.attention.self.{n}.bias"] for n in ("query", "key", "value")])
        qkv = node("Add", [node("MatMul", [x, const(f"l{i}.qkv_wT", qkv_w)], f"l{i}_qkv_mm"), const(f"l{i}.qkv_b", qkv_b)], f"l{i}_qkv")
        nodes.append(helper.make_node("Split", [qkv, const(f"l{i}.split", np.array([hidden] * 3, np.int64))],
                                      [f"l{i}_q", f"l{i}_k", f"l{i}_v"], name=f"l{i}_split", axis=-1))
        q = node("Transpose", [node("Reshape", [f"l{i}_q", to_heads], f"l{i}_q4")], f"l{i}_qt", perm=[0, 2, 1, 3])
        k = node("Transpose", [node("Reshape", [f"l{i}_k", to_heads], f"l{i}_k4")], f"l{i}_kt", perm=[0, 2, 3, 1])
        v = node("Transpose", [node("Reshape", [f"l{i}_v", to_heads], f"l{i}_v4")], f"l{i}_vt", perm=[0, 2, 1, 3])
        scores = node("Add", [node("Mul", [node("MatMul", [q, k], f"l{i}_qk"), scale], f"l{i}_scaled"), ext], f"l{i}_scores")
        probs = node("Softmax", [scores], f"l{i}_probs", axis=-1)
        ctx = node("Transpose", [node("MatMul", [probs, v], f"l{i}_ctx4")], f"l{i}_ctxt", perm=[0, 2, 1, 3])
        ctx = node("Reshape", [ctx, from_heads], f"l{i}_ctx")
        attn = linear(ctx, f"{p}.attention.output.dense", f"l{i}_attn")
        x1 = layer_norm(node("Add", [attn, x], f"l{i}_res1"), f"{p}.attention.output.LayerNorm", f"l{i}_ln1")
        inter = linear(x1, f"{p}.intermediate.dense", f"l{i}_inter")
        # Exact (erf) GELU, as BERT uses.
        half = node("Mul", [inter, const(f"l{i}.half", np.array(0.5, np.float32))], f"l{i}_half")
        erf = node("Erf", [node("Div", [inter, const(f"l{i}.sqrt2", np.array(np.sqrt(2.0), np.float32))], f"l{i}_div")], f"l{i}_erf")
        gelu = node("Mul", [half, node("Add", [erf, const(f"l{i}.onef", np.array(1.0, np.float32))], f"l{i}_erf1")], f"l{i}_gelu")
        out = linear(gelu, f"{p}.output.dense", f"l{i}_out")
        x = layer_norm(node("Add", [out, x1], f"l{i}_res2"), f"{p}.output.LayerNorm", f"l{i}_ln2")

    # Mean pooling over real tokens, then L2 normalisation.
    m3 = node("Unsqueeze", [mask_f, const("axes_last", np.array([2], np.int64))], "mask3")
    axis1 = const("axis1", np.array([1], np.int64))
    summed = node("ReduceSum", [node("Mul", [x, m3], "masked"), axis1], "summed", keepdims=0)
    count = node("Max", [node("ReduceSum", [m3, axis1], "count", keepdims=0), const("tiny", np.array(1e-9, np.float32))], "count_c")
    mean = node("Div", [summed, count], "mean")
    norm = node("Sqrt", [node("ReduceSum", [node("Mul", [mean, mean], "sq"), axis1], "sumsq", keepdims=1)], "norm")
    node("Div", [mean, node("Max", [norm, const("eps_n", np.array(1e-12, np.float32))], "norm_c")], "sentence_embedding")

    graph = helper.make_graph(
        nodes, "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", hidden])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="ragd")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, out_path)


if __name__ == "__main__":
    build(sys.argv[1], sys.argv[2])
