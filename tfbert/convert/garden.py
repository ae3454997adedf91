"""Reads TF Model Garden (tf-models-official) BERT checkpoints: the object-based TF2 checkpoints
of its `BertEncoder` / `BertEncoderV2`, alone (its released checkpoints and its TF1 -> TF2
converter) or inside `BertPretrainerV2`, `BertClassifier` or `BertSpanLabeler` (its training and
fine-tuning runs, optimizer state included).

The reader walks the checkpoint's object graph by attribute name (`_embedding_layer`,
`_transformer_layers`, `masked_lm`, ...), so it works wherever the model sits in the checkpoint
(`encoder/`, `model/encoder_network/`, ...) and needs neither tf-models-official nor tf_keras.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import trackable_object_graph_pb2

from tfbert.config import BertConfig
from tfbert.convert.converted import ConvertedModel, match_model, read_original_config
from tfbert.text.vocab import is_uncased, load_vocab

_OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
# A training run's experiment config saying the encoder normalizes before each sublayer.
_PRE_LAYER_NORM = re.compile(r"^\s*norm_first:\s*true\s*$", re.MULTILINE | re.IGNORECASE)
_ENCODER = ("_embedding_layer", "_transformer_layers")
_MASKED_LM = ("embedding_table", "dense", "layer_norm", "bias")
# Transformer block part -> original BERT scope inside `bert/encoder/layer_i/`.
_BLOCK_DENSE = {"_intermediate_dense": "intermediate/dense", "_output_dense": "output/dense"}
_BLOCK_NORMS = {"_attention_layer_norm": "attention/output/LayerNorm",
                "_output_layer_norm": "output/LayerNorm"}


class ObjectGraph:
    """The object graph of a TF2 checkpoint: nodes by id, their named children, their values.

    >>> import tempfile
    >>> root = tf.train.Checkpoint(layer=tf.Module())
    >>> root.layer.kernel = tf.Variable([1.0, 2.0])
    >>> graph = ObjectGraph(root.write(tempfile.mkdtemp() + "/ckpt"))
    >>> graph.value(graph.child(graph.child(0, "layer"), "kernel"))
    array([1., 2.], dtype=float32)
    """

    def __init__(self, checkpoint: str | Path):
        self.checkpoint = str(checkpoint)
        self._reader = tf.train.load_checkpoint(self.checkpoint)
        if not self._reader.has_tensor(_OBJECT_GRAPH_KEY):
            raise ValueError(f"{checkpoint} is a name-based (TF1) checkpoint, not a Model Garden "
                             "TF2 one; convert it with `--from google`.")
        proto = trackable_object_graph_pb2.TrackableObjectGraph()
        proto.ParseFromString(self._reader.get_tensor(_OBJECT_GRAPH_KEY))
        self._nodes = proto.nodes

    def children(self, node: int) -> dict[str, int]:
        """The named children of `node` (0 is the root)."""
        return {child.local_name: child.node_id for child in self._nodes[node].children}

    def child(self, node: int, name: str) -> int:
        children = self.children(node)
        if name not in children:
            raise ValueError(f"{self.checkpoint}: an object lacks {name!r} (it has "
                             f"{sorted(children)[:12]}); not a Model Garden BERT checkpoint.")
        return children[name]

    def value(self, node: int) -> np.ndarray:
        """The saved value of a variable node."""
        for attribute in self._nodes[node].attributes:
            if attribute.name == "VARIABLE_VALUE":
                return self._reader.get_tensor(attribute.checkpoint_key)
        raise ValueError(f"{self.checkpoint}: object {node} holds no variable.")

    def find(self, names: tuple[str, ...]) -> int | None:
        """The first node (breadth first from the root) that has all the children `names`."""
        seen, queue = {0}, [0]
        for node in queue:
            children = self.children(node)
            if all(name in children for name in names):
                return node
            for child in children.values():
                if child not in seen:
                    seen.add(child)
                    queue.append(child)
        return None


def read_garden(source: str | Path) -> ConvertedModel:
    """Reads a Model Garden BERT checkpoint, offline: a folder (its `checkpoint` file names the
    latest, or `bert_model.ckpt`; `bert_config.json` and `vocab.txt` are used when present) or a
    checkpoint prefix such as `run/ckpt-10000`.

    Without `bert_config.json` the shape comes from the weights, with BERT's defaults for the
    rest (tanh-approximated GELU, as Model Garden's `gelu`; dropout 0.1). A `BertPretrainerV2`
    becomes a `BertPretrainer` without next-sentence head: Model Garden's classification heads
    put their own dense layer on [CLS] instead of the pooler, so they are reported in `notes`
    and left out. Pre-LayerNorm encoders (`norm_first`) have BERT's weights but not its
    computation; they are refused when the run's `params.yaml` says so (weights cannot tell).
    """
    source = Path(source)
    folder = source if source.is_dir() else source.parent
    params = folder / "params.yaml"
    if params.is_file() and _PRE_LAYER_NORM.search(params.read_text(encoding="utf-8")):
        raise ValueError(f"{params} sets norm_first: true; tfbert's BERT applies LayerNorm "
                         "after each sublayer, so this encoder would compute something else.")
    graph = ObjectGraph(_checkpoint(source))
    encoder = graph.find(_ENCODER)
    if encoder is None:
        raise ValueError(f"{graph.checkpoint} holds no Model Garden BERT encoder (no object with "
                         f"{' and '.join(_ENCODER)}).")
    tensors, heads = _encoder_weights(graph, encoder)
    config = _config(folder / "bert_config.json", tensors, heads)
    task, notes = _head(graph, encoder, tensors)
    weights = match_model(config, task, tensors, graph.checkpoint)
    vocab = folder / "vocab.txt"
    return ConvertedModel(config, task, weights, vocab if vocab.is_file() else None,
                          is_uncased(load_vocab(vocab)) if vocab.is_file() else None, notes)


def _checkpoint(source: Path) -> str:
    if Path(f"{source}.index").is_file():
        return str(source)
    if not source.is_dir():
        raise FileNotFoundError(f"{source} is neither a folder nor a checkpoint prefix (no "
                                f"{source.name}.index).")
    latest = tf.train.latest_checkpoint(str(source))
    if latest is not None:
        return latest
    if Path(f"{source / 'bert_model.ckpt'}.index").is_file():
        return str(source / "bert_model.ckpt")
    raise FileNotFoundError(f"{source} has no checkpoint: expected a `checkpoint` file naming "
                            "the latest one, or bert_model.ckpt.index.")


def _encoder_weights(graph: ObjectGraph, encoder: int) -> tuple[dict[str, np.ndarray], int]:
    """The encoder's weights under original BERT names, and its number of attention heads."""
    if "_embedding_projection" in graph.children(encoder):
        raise ValueError(f"{graph.checkpoint}: the encoder projects a narrower embedding "
                         "(embedding_width != hidden_size); tfbert's BERT has no such layer.")

    def variable(node: int, *path: str) -> np.ndarray:
        for name in path:
            node = graph.child(node, name)
        return graph.value(node)

    weights = {
        "bert/embeddings/word_embeddings": variable(encoder, "_embedding_layer", "embeddings"),
        "bert/embeddings/position_embeddings":
            variable(encoder, "_position_embedding_layer", "embeddings"),
        "bert/embeddings/token_type_embeddings":
            variable(encoder, "_type_embedding_layer", "embeddings"),
        "bert/embeddings/LayerNorm/gamma": variable(encoder, "_embedding_norm_layer", "gamma"),
        "bert/embeddings/LayerNorm/beta": variable(encoder, "_embedding_norm_layer", "beta"),
        "bert/pooler/dense/kernel": variable(encoder, "_pooler_layer", "kernel"),
        "bert/pooler/dense/bias": variable(encoder, "_pooler_layer", "bias"),
    }
    heads = 0
    blocks = graph.children(graph.child(encoder, "_transformer_layers"))
    if sorted(blocks) != sorted(str(index) for index in range(len(blocks))):
        raise ValueError(f"{graph.checkpoint}: unexpected transformer layer list {sorted(blocks)}.")
    for index in range(len(blocks)):
        block, scope = blocks[str(index)], f"bert/encoder/layer_{index}"
        attention = graph.child(block, "_attention_layer")
        for part in ("query", "key", "value"):
            kernel = variable(attention, f"_{part}_dense", "kernel")  # [hidden, heads, head size]
            heads = kernel.shape[1]
            weights[f"{scope}/attention/self/{part}/kernel"] = kernel.reshape(kernel.shape[0], -1)
            weights[f"{scope}/attention/self/{part}/bias"] = \
                variable(attention, f"_{part}_dense", "bias").reshape(-1)
        kernel = variable(attention, "_output_dense", "kernel")  # [heads, head size, hidden]
        weights[f"{scope}/attention/output/dense/kernel"] = kernel.reshape(-1, kernel.shape[-1])
        weights[f"{scope}/attention/output/dense/bias"] = \
            variable(attention, "_output_dense", "bias")
        for part, target in _BLOCK_DENSE.items():
            for leaf in ("kernel", "bias"):
                weights[f"{scope}/{target}/{leaf}"] = variable(block, part, leaf)
        for part, target in _BLOCK_NORMS.items():
            for leaf in ("gamma", "beta"):
                weights[f"{scope}/{target}/{leaf}"] = variable(block, part, leaf)
    return weights, heads


def _config(path: Path, weights: dict[str, np.ndarray], heads: int) -> BertConfig:
    """`bert_config.json` if present (Model Garden's `gelu` is the tanh form), else the shapes."""
    if path.is_file():
        return read_original_config(path)
    vocab_size, hidden_size = weights["bert/embeddings/word_embeddings"].shape
    layers = sum(name.endswith("/attention/self/query/kernel") for name in weights)
    return BertConfig(
        vocab_size=vocab_size, hidden_size=hidden_size, num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=weights["bert/encoder/layer_0/intermediate/dense/kernel"].shape[1],
        hidden_act="gelu_new",
        max_position_embeddings=weights["bert/embeddings/position_embeddings"].shape[0],
        type_vocab_size=weights["bert/embeddings/token_type_embeddings"].shape[0])


def _head(graph: ObjectGraph, encoder: int, weights: dict[str, np.ndarray]
          ) -> tuple[dict, tuple[str, ...]]:
    """Adds the task head's weights; returns the task spec and notes on what was left out."""
    masked_lm = graph.find(_MASKED_LM)
    if masked_lm is not None:
        words = graph.child(graph.child(encoder, "_embedding_layer"), "embeddings")
        if graph.child(masked_lm, "embedding_table") != words:
            raise ValueError(f"{graph.checkpoint}: the masked-LM head does not share the "
                             "encoder's word embeddings; tfbert ties them.")
        scope = "cls/predictions"
        for part, target, leaves in (("dense", "transform/dense", ("kernel", "bias")),
                                     ("layer_norm", "transform/LayerNorm", ("gamma", "beta"))):
            for leaf in leaves:
                weights[f"{scope}/{target}/{leaf}"] = graph.value(
                    graph.child(graph.child(masked_lm, part), leaf))
        weights[f"{scope}/output_bias"] = graph.value(graph.child(masked_lm, "bias"))
        heads = graph.find(("classification_heads", "masked_lm"))
        left_out = sorted(graph.children(graph.child(heads, "classification_heads"))) \
            if heads is not None else []
        notes = (f"left out {len(left_out)} classification head(s) of the pretrainer (Model "
                 "Garden's own dense layer on [CLS], not BERT's pooler + next-sentence layer)",
                 ) if left_out else ()
        return {"class": "BertPretrainer", "next_sentence": False}, notes
    classifier = graph.find(("classifier",))
    if classifier is not None:
        head = graph.child(classifier, "classifier")
        if "dense" in graph.children(head):
            raise ValueError(f"{graph.checkpoint}: the classifier has an inner dense layer "
                             "(use_encoder_pooler=False); tfbert's reads the pooler.")
        projection = graph.child(head, "out_proj")
        weights["classifier/kernel"] = graph.value(graph.child(projection, "kernel"))
        weights["classifier/bias"] = graph.value(graph.child(projection, "bias"))
        return {"class": "BertClassifier",
                "num_labels": int(weights["classifier/bias"].shape[0])}, ()
    span_labeler = graph.find(("span_labeling",))
    if span_labeler is not None:
        dense = graph.child(graph.child(span_labeler, "span_labeling"), "layer_with_weights-0")
        weights["qa_outputs/kernel"] = graph.value(graph.child(dense, "kernel"))
        weights["qa_outputs/bias"] = graph.value(graph.child(dense, "bias"))
        return {"class": "BertSpanQA"}, ()
    return {"class": "BertEncoder"}, ()
