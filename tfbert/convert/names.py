"""The one map between tfbert variable paths and other formats' weight names.

tfbert paths ARE the original BERT checkpoint names (`bert/encoder/layer_0/attention/self/
query/kernel`), so Google checkpoints need no map. HF PyTorch names follow from the path by
rule (`/` -> `.`, `layer_0` -> `layer.0`, Dense `kernel` -> transposed `weight`, LayerNorm
`gamma`/`beta` -> `weight`/`bias`), except the few entries of `_HF_EXCEPTIONS`. Reading and
writing HF folders both go through `hf_key`.
"""
from __future__ import annotations

# tfbert path -> (HF key, transposed). Heads whose original names are not Dense scopes.
_HF_EXCEPTIONS = {
    "cls/predictions/output_bias": ("cls.predictions.bias", False),
    "cls/seq_relationship/output_weights": ("cls.seq_relationship.weight", False),
    "cls/seq_relationship/output_bias": ("cls.seq_relationship.bias", False),
}

# Last path segment -> (HF suffix, transposed).
_HF_LEAVES = {
    "kernel": ("weight", True),  # Keras (in, out) vs PyTorch Linear (out, in)
    "bias": ("bias", False),
    "gamma": ("weight", False),
    "beta": ("bias", False),
    "word_embeddings": ("word_embeddings.weight", False),
    "position_embeddings": ("position_embeddings.weight", False),
    "token_type_embeddings": ("token_type_embeddings.weight", False),
}

# HF architecture -> the tfbert task spec it converts to (readers add num_labels, labels,
# dropout; a regression BertForSequenceClassification becomes a BertRegressor).
HF_ARCHITECTURES = {
    "BertModel": {"class": "BertEncoder"},
    "BertForPreTraining": {"class": "BertPretrainer", "next_sentence": True},
    "BertForMaskedLM": {"class": "BertPretrainer", "next_sentence": False},
    "BertForSequenceClassification": {"class": "BertClassifier"},
    "BertForTokenClassification": {"class": "BertTokenClassifier"},
    "BertForQuestionAnswering": {"class": "BertSpanQA"},
}
# The HF architectures that build BERT's pooler (the others have add_pooling_layer=False).
HF_POOLED = ("BertModel", "BertForPreTraining", "BertForSequenceClassification")

# HF keys that carry no weights of their own: buffers, and the MLM decoder tied to the word
# embeddings (with its bias duplicated as cls.predictions.bias).
HF_IGNORED = ("bert.embeddings.position_ids", "cls.predictions.decoder.weight",
              "cls.predictions.decoder.bias")


def hf_key(path: str) -> tuple[str, bool]:
    """The HF state-dict key of a tfbert variable, and whether the tensor is transposed.

    >>> hf_key("bert/encoder/layer_3/attention/output/dense/kernel")
    ('bert.encoder.layer.3.attention.output.dense.weight', True)
    >>> hf_key("cls/seq_relationship/output_weights")
    ('cls.seq_relationship.weight', False)
    """
    if path in _HF_EXCEPTIONS:
        return _HF_EXCEPTIONS[path]
    *scopes, leaf = path.split("/")
    if leaf not in _HF_LEAVES:
        raise ValueError(f"No HF name for variable {path!r}.")
    suffix, transposed = _HF_LEAVES[leaf]
    scopes = [s.replace("layer_", "layer.", 1) if s.startswith("layer_") else s for s in scopes]
    return ".".join(scopes + [suffix]), transposed
