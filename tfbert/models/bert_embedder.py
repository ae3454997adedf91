"""`BertEmbedder`: one embedding vector per text (retrieval, similarity, clustering)."""
from __future__ import annotations

import keras

from tfbert.config import BertConfig
from tfbert.layers import SequencePooling
from tfbert.models.bert_encoder import BertEncoder
from tfbert.models.task_model import TaskModel, feature_inputs


@keras.saving.register_keras_serializable(package="tfbert")
class BertEmbedder(TaskModel):
    """`embedding` (B, H), float32: the [CLS] state (`pooling="cls"`) or the masked mean of
    the token states (`pooling="mean"`), optionally L2-normalised.

    >>> import numpy as np
    >>> model = BertEmbedder(BertConfig.preset("bert_tiny"), pooling="mean", normalize=True)
    >>> embedding = model({"input_word_ids": np.array([[101, 7592, 102, 0]]),
    ...                    "input_mask": np.array([[1, 1, 1, 0]]),
    ...                    "input_type_ids": np.zeros((1, 4))})["embedding"]
    >>> embedding.shape.as_list(), round(float(np.linalg.norm(embedding)), 4)
    ([1, 128], 1.0)
    """

    def __init__(self, config: BertConfig, pooling: str = "cls", normalize: bool = False,
                 dtype: str | None = None, name: str = "bert_embedder", **kwargs):
        # === Layers ===
        encoder = BertEncoder(config, dtype=dtype)
        pool = SequencePooling(pooling, normalize, name="pooling", dtype=dtype)
        # === Graph ===
        inputs = feature_inputs()
        embedding = pool(encoder(inputs)["sequence_output"], inputs["input_mask"])
        super().__init__(config, {"pooling": pooling, "normalize": normalize, "dtype": dtype},
                         inputs=inputs, outputs={"embedding": embedding}, name=name, **kwargs)
        # === Config ===
        self.encoder = encoder
