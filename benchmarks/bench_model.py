"""Model benchmarks: bert_base encoder inference and bert_tiny MLM training.

Peers, built from the same `BertConfig` with random weights: keras-hub `BertBackbone` /
`BertMaskedLM`, and Hugging Face `BertModel` / `BertForMaskedLM` (PyTorch eager, 2 threads).
Each Keras model runs both with and without XLA and is reported on its faster path.

Every time is a candidate's fastest call over rounds that interleave all candidates of a case:
on a shared machine another job taking one of the cores can double a call, and the fastest call
is the least disturbed one.
"""
import dataclasses
import sys
import time
from collections.abc import Callable

import numpy as np

from harness import Row, measure_interleaved, peak_matmul

SEQ_LENGTH = 128
INFER_BATCHES = (1, 32)
TRAIN_BATCH = 32
NUM_MASKED = 20  # max_predictions_per_seq
TRAIN_STEPS_PER_CALL = 4  # optimizer steps in one timed call
LEARNING_RATE = 1e-4
TORCH_THREADS = 2
OURS = "tfbert"
KERAS_HUB = "keras-hub"
HF = "HF PyTorch"
PEAK = "peak"
Fn = Callable[[], object]


def forward_flops(config, seq_length: int) -> float:
    """Matmul FLOPs (2 per multiply-add) of one encoder forward pass over one sequence.

    Per layer, with T = seq_length, H = hidden_size, I = intermediate_size, the multiply-adds are:
    Q, K, V and attention-output projections 4·T·H², feed-forward 2·T·H·I, attention scores
    (Q·Kᵀ) T²·H and context (probs·V) T²·H. Embeddings, pooler, softmax, layer norm and GELU
    are not counted.
    """
    t, h, i = seq_length, config.hidden_size, config.intermediate_size
    macs_per_layer = t * (4 * h * h + 2 * h * i) + 2 * t * t * h
    return 2.0 * config.num_hidden_layers * macs_per_layer


def _features(config, batch: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Random full-length pretraining features (no padding: every model does the same work)."""
    rng = np.random.default_rng(seed)
    shape = (batch, SEQ_LENGTH)
    type_ids = np.zeros(shape, np.int32)
    type_ids[:, SEQ_LENGTH // 2 :] = 1
    # Distinct sorted positions, never [CLS] at 0.
    positions = np.stack([
        np.sort(rng.choice(np.arange(1, SEQ_LENGTH), NUM_MASKED, replace=False))
        for _ in range(batch)
    ]).astype(np.int32)
    return {
        "input_word_ids": rng.integers(1000, config.vocab_size, shape, dtype=np.int32),
        "input_mask": np.ones(shape, np.int32),
        "input_type_ids": type_ids,
        "masked_lm_positions": positions,
        "masked_lm_ids": rng.integers(1000, config.vocab_size, positions.shape, dtype=np.int32),
        "masked_lm_weights": np.ones(positions.shape, np.float32),
    }


def _keras_inputs(framework: str, features: dict[str, np.ndarray], mlm: bool) -> dict:
    """The inputs of a Keras model of `framework`: encoder features, plus positions if `mlm`."""
    names = {  # tfbert name -> keras-hub name
        "input_word_ids": "token_ids",
        "input_mask": "padding_mask",
        "input_type_ids": "segment_ids",
    }
    if mlm:
        names["masked_lm_positions"] = "mask_positions"
    return {(ours if framework == OURS else hub): features[ours] for ours, hub in names.items()}


def _keras_hub_backbone(config):
    import keras_hub

    return keras_hub.models.BertBackbone(
        vocabulary_size=config.vocab_size,
        num_layers=config.num_hidden_layers,
        num_heads=config.num_attention_heads,
        hidden_dim=config.hidden_size,
        intermediate_dim=config.intermediate_size,
        dropout=config.hidden_dropout_prob,
        max_sequence_length=config.max_position_embeddings,
        num_segments=config.type_vocab_size,
    )


def _keras_hub_masked_lm(config):
    import keras_hub

    return keras_hub.models.BertMaskedLM(_keras_hub_backbone(config), preprocessor=None)


def _tfbert_encoder(config):
    from tfbert import BertEncoder

    return BertEncoder(config)


def _tfbert_pretrainer(config):
    from tfbert import BertPretrainer

    return BertPretrainer(config, next_sentence=False)


def _build(builder: Callable, config, policy: str = "float32"):
    """`builder(config)` under the global dtype policy `policy`; the policy is reset to float32."""
    import keras

    keras.mixed_precision.set_global_policy(policy)
    try:
        return builder(config)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def _hf_config(config):
    import transformers

    return transformers.BertConfig(**dataclasses.asdict(config))


def _torch_tensors(features: dict[str, np.ndarray]) -> dict:
    import torch

    return {name: torch.from_numpy(value) for name, value in features.items()}


def _hf_encoder_args(tensors: dict) -> dict:
    return {
        "input_ids": tensors["input_word_ids"].long(),
        "attention_mask": tensors["input_mask"].long(),
        "token_type_ids": tensors["input_type_ids"].long(),
    }


# ---- inference ------------------------------------------------------------------------------


def _tf_forward(model, inputs: dict[str, np.ndarray], jit: bool) -> Fn:
    """One forward pass through `tf.function(model)`, with or without XLA."""
    import tensorflow as tf

    tensors = {name: tf.constant(value) for name, value in inputs.items()}
    forward = tf.function(lambda x: model(x, training=False), jit_compile=jit)
    return lambda: forward(tensors)["pooled_output"].numpy()


def _torch_forward(model, features: dict[str, np.ndarray]) -> Fn:
    """One forward pass of an HF `BertModel` in eval mode under `torch.inference_mode`."""
    import torch

    args = _hf_encoder_args(_torch_tensors(features))

    def forward():
        with torch.inference_mode():
            return model(**args).pooler_output

    return forward


def _fastest(seconds: dict[str, float], prefix: str) -> tuple[float, str] | None:
    """Seconds and path of the fastest candidate named `prefix/<path>`, or None if there is none."""
    paths = {k.rsplit("/", 1)[1]: v for k, v in seconds.items() if k.rsplit("/", 1)[0] == prefix}
    if not paths:
        return None
    path = min(paths, key=paths.get)
    return paths[path], path


def _forward_candidates(models: dict, features: dict[str, np.ndarray], quick: bool) -> dict:
    """Candidates `framework/dtype/path`: every Keras model through XLA and (unless `quick`) plain
    graph, HF eager, and the matmul peak of each dtype."""
    candidates: dict[str, Fn] = {}
    for (framework, dtype), model in models.items():
        if framework == HF:
            candidates[f"{HF}/{dtype}/eager"] = _torch_forward(model, features)
            continue
        candidates.setdefault(f"{PEAK}/{dtype}/matmul", peak_matmul(dtype)[0])
        inputs = _keras_inputs(framework, features, mlm=False)
        for path in ("XLA",) if quick else ("XLA", "graph"):
            candidates[f"{framework}/{dtype}/{path}"] = _tf_forward(model, inputs, path == "XLA")
    return candidates


def _time_forward(candidates: dict[str, Fn], batch: int, quick: bool) -> dict[str, float]:
    """Fastest call of each candidate. At the smallest batch all of them run for several rounds;
    larger batches, which take seconds a call, run one round of everything and then one more of
    the faster path of each Keras model, HF and the peaks."""
    if quick:
        return measure_interleaved(candidates, warmup=1, min_repeats=1, statistic=min)
    if batch == min(INFER_BATCHES):
        return measure_interleaved(candidates, min_time_s=20.0, statistic=min)
    seconds = measure_interleaved(candidates, warmup=1, min_repeats=1, statistic=min)
    prefixes = {key.rsplit("/", 1)[0] for key in seconds}  # framework/dtype
    fastest = {f"{prefix}/{_fastest(seconds, prefix)[1]}" for prefix in prefixes}
    kept = {key: fn for key, fn in candidates.items() if key in fastest}
    more = measure_interleaved(kept, warmup=0, min_repeats=1, statistic=min)
    return {key: min(value, more.get(key, value)) for key, value in seconds.items()}


def _forward_rows(config, batch: int, seconds: dict[str, float], peaks: dict[str, float]
                  ) -> list[Row]:
    """One row per dtype timed in `seconds`: each model's fastest path, and % of `peaks` GFLOP/s."""
    flops = forward_flops(config, SEQ_LENGTH)
    rows = []
    for dtype, peak_gflops in peaks.items():
        rates, paths, percents = {}, [], []
        for framework in (OURS, KERAS_HUB, HF):
            fastest = _fastest(seconds, f"{framework}/{dtype}")
            if fastest is not None:
                rates[framework] = batch / fastest[0]
                paths.append(f"{framework} {fastest[1]}")
                percents.append(f"{framework} {rates[framework] * flops / 1e9 / peak_gflops:.0%}")
        if not rates:
            continue
        note = (f"% of {dtype} matmul peak ({peak_gflops:.0f} GFLOP/s): {', '.join(percents)}; "
                f"path: {', '.join(paths)}")
        ours = rates.pop(OURS)
        case = f"bert_base {dtype} {batch}×{SEQ_LENGTH}"
        rows.append(Row("encoder forward", case, "seq/s", ours, rates, note))
    return rows


def _inference_rows(config, quick: bool) -> list[Row]:
    """bert_base forward in float32 and mixed_bfloat16 at each batch size in INFER_BATCHES.

    The matmul peak of a dtype is the best rate its `peak_matmul` reached in any round.
    """
    import transformers

    models = {
        (OURS, "float32"): _build(_tfbert_encoder, config),
        (KERAS_HUB, "float32"): _build(_keras_hub_backbone, config),
        (OURS, "bfloat16"): _build(_tfbert_encoder, config, "mixed_bfloat16"),
        (KERAS_HUB, "bfloat16"): _build(_keras_hub_backbone, config, "mixed_bfloat16"),
        (HF, "float32"): transformers.BertModel(_hf_config(config)).eval(),
    }
    timings = {}  # batch -> seconds per candidate
    for batch in INFER_BATCHES:
        _progress(f"encoder forward {batch}×{SEQ_LENGTH}")
        candidates = _forward_candidates(models, _features(config, batch), quick)
        timings[batch] = _time_forward(candidates, batch, quick)
    peaks = {}  # dtype -> GFLOP/s
    for dtype in ("float32", "bfloat16"):
        fastest = min(seconds[f"{PEAK}/{dtype}/matmul"] for seconds in timings.values())
        peaks[dtype] = peak_matmul(dtype)[1] / fastest / 1e9
    rows = []
    for batch, seconds in timings.items():
        rows += _forward_rows(config, batch, seconds, peaks)
    shape = f"{max(INFER_BATCHES)}×{SEQ_LENGTH}"
    by_case = {row.case: row for row in rows}
    fp32, bf16 = by_case[f"bert_base float32 {shape}"], by_case[f"bert_base bfloat16 {shape}"]
    speedup = Row(
        "encoder forward", f"bert_base bf16/fp32 {shape}", "×", bf16.ours / fp32.ours,
        {KERAS_HUB: bf16.peers[KERAS_HUB] / fp32.peers[KERAS_HUB]},
        "mixed_bfloat16 over float32 throughput (rows above)")
    return [*rows, speedup]


# ---- training -------------------------------------------------------------------------------


def _keras_train(framework: str, model, features: dict[str, np.ndarray], jit: bool) -> Fn:
    """TRAIN_STEPS_PER_CALL steps of `model.fit` (Adam, masked-LM cross-entropy) on one batch."""
    import keras
    import tensorflow as tf

    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    labels, weights = features["masked_lm_ids"], features["masked_lm_weights"]
    compile_args = {}
    if framework == OURS:
        loss = {"mlm_logits": loss}
        labels, weights = {"mlm_logits": labels}, {"mlm_logits": weights}
    else:
        compile_args["weighted_metrics"] = []  # keras-hub adds an accuracy metric by default
    model.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE), loss=loss, jit_compile=jit, **compile_args
    )
    data = (_keras_inputs(framework, features, mlm=True), labels, weights)
    dataset = tf.data.Dataset.from_tensors(data).repeat()
    return lambda: model.fit(
        dataset, steps_per_epoch=TRAIN_STEPS_PER_CALL, shuffle=False, verbose=0)


def hf_masked_lm_loss(model, features: dict[str, np.ndarray]) -> Callable[[], object]:
    """A closure computing HF `BertForMaskedLM`'s loss as original BERT does: cross-entropy on
    the gathered masked positions, weighted by `masked_lm_weights`, over (sum of weights +
    1e-5)."""
    import torch

    tensors = _torch_tensors(features)
    args = _hf_encoder_args(tensors)
    positions = tensors["masked_lm_positions"].long()
    labels = tensors["masked_lm_ids"].long().flatten()
    weights = tensors["masked_lm_weights"].flatten()

    def loss():
        sequence = model.bert(**args).last_hidden_state  # (B, T, H)
        index = positions[:, :, None].expand(-1, -1, sequence.shape[-1])  # (B, P, H)
        logits = model.cls(sequence.gather(1, index))  # (B, P, V)
        per_token = torch.nn.functional.cross_entropy(
            logits.flatten(0, 1), labels, reduction="none")  # (B*P,)
        return (per_token * weights).sum() / (weights.sum() + 1e-5)

    return loss


def _torch_train(config, features: dict[str, np.ndarray]) -> Fn:
    """TRAIN_STEPS_PER_CALL AdamW steps of HF `BertForMaskedLM`, loss on the masked positions."""
    import torch
    import transformers

    model = transformers.BertForMaskedLM(_hf_config(config)).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
    masked_lm_loss = hf_masked_lm_loss(model, features)

    def step():
        loss = masked_lm_loss()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def steps():
        for _ in range(TRAIN_STEPS_PER_CALL):
            step()

    return steps


def _training_rows(config, quick: bool) -> list[Row]:
    """bert_tiny masked-LM training steps per second; Keras models with and without XLA."""
    _progress(f"training step {TRAIN_BATCH}×{SEQ_LENGTH}")
    features = _features(config, TRAIN_BATCH)
    builders = {OURS: _tfbert_pretrainer, KERAS_HUB: _keras_hub_masked_lm}
    candidates = {}
    for framework, builder in builders.items():
        for path in ("XLA",) if quick else ("XLA", "graph"):
            model = _build(builder, config)
            train = _keras_train(framework, model, features, jit=path == "XLA")
            candidates[f"{framework}/{path}"] = train
    candidates[f"{HF}/eager"] = _torch_train(config, features)
    seconds = measure_interleaved(
        candidates,
        warmup=1,
        min_repeats=1 if quick else 5,
        min_time_s=0.0 if quick else 20.0,
        statistic=min,
    )
    rates, paths = {}, []
    for framework in (OURS, KERAS_HUB, HF):
        fastest_seconds, path = _fastest(seconds, framework)
        rates[framework] = TRAIN_STEPS_PER_CALL / fastest_seconds
        paths.append(f"{framework} {path}")
    note = (f"Adam (HF: AdamW) lr {LEARNING_RATE:g}, dropout on; Keras: compile + fit on a "
            f"repeated in-memory batch; path: {', '.join(paths)}")
    ours = rates.pop(OURS)
    case = f"bert_tiny MLM train {TRAIN_BATCH}×{SEQ_LENGTH}, {NUM_MASKED} masked"
    return [Row("training step", case, "steps/s", ours, rates, note)]


def _progress(message: str) -> None:
    print(f"[bench_model] {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def run(quick: bool) -> list[Row]:
    """All rows of this module; `quick` cuts repetitions for a smoke test."""
    import tensorflow as tf
    import torch

    from tfbert import BertConfig

    tf.get_logger().setLevel("ERROR")  # one tf.function per model and path: retracing is expected
    torch.set_num_threads(TORCH_THREADS)
    return [
        *_inference_rows(BertConfig.preset("bert_base"), quick),
        *_training_rows(BertConfig.preset("bert_tiny"), quick),
    ]
