"""`--dtype auto` (the default): mixed_bfloat16 on TPU and on CPUs whose /proc/cpuinfo flags
show native bfloat16 math (AVX512_BF16, AMX-BF16), float32 elsewhere; a training run prints what
it chose and why, and trains with it."""
import json

import pytest

import tfbert
from tfbert import runtime
from tfbert.cli import main
from tfbert.training.options import TrainingOptions

# /proc/cpuinfo of a 2-core Zen 3 VM (AVX2 only: the test machine) and a Sapphire Rapids
# host (AVX-512 with BF16 and AMX), abridged to the fields that matter.
ZEN3 = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B13
flags\t\t: fpu vme de pse tsc msr sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2 sha_ni

processor\t: 1
vendor_id\t: AuthenticAMD
flags\t\t: fpu vme de pse tsc msr sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2 sha_ni
"""
SAPPHIRE_RAPIDS = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
flags\t\t: fpu sse2 avx avx2 avx512f avx512bw avx512_bf16 avx512_fp16 amx_bf16 amx_tile amx_int8
"""
ZEN4 = "flags : fpu avx2 avx512f avx512_bf16 avx512_vnni\n"
AMX_TILE_ONLY = "flags : avx2 amx_tile amx_int8\n"


def test_auto_picks_bfloat16_only_where_the_cpu_has_it():
    assert runtime.choose_dtype("auto", cpuinfo=ZEN3) == (
        "float32", "the CPU has none of avx512_bf16, amx_bf16, so bfloat16 would be emulated, "
                   "slower than float32")
    assert runtime.choose_dtype("auto", cpuinfo=SAPPHIRE_RAPIDS) == (
        "mixed_bfloat16", "the CPU has avx512_bf16, amx_bf16 (native bfloat16 matrix math)")
    assert runtime.choose_dtype("auto", cpuinfo=ZEN4)[0] == "mixed_bfloat16"
    assert runtime.choose_dtype("auto", cpuinfo=AMX_TILE_ONLY)[0] == "float32"
    assert runtime.choose_dtype("auto", cpuinfo="")[0] == "float32"  # no /proc/cpuinfo


def test_auto_on_accelerators_and_explicit_choices():
    assert runtime.choose_dtype("auto", tpu=True, cpuinfo=ZEN3)[0] == "mixed_bfloat16"
    dtype, reason = runtime.choose_dtype("auto", gpu=True, cpuinfo=SAPPHIRE_RAPIDS)
    assert dtype == "float32" and "--dtype mixed_float16" in reason
    for dtype in ("float32", "mixed_bfloat16", "mixed_float16"):
        assert runtime.choose_dtype(dtype, cpuinfo=SAPPHIRE_RAPIDS) == (dtype, "as requested")


def test_cpu_flags_and_options():
    assert {"avx2", "sha_ni"} <= runtime.cpu_flags(ZEN3) and "avx512_bf16" not in \
        runtime.cpu_flags(ZEN3)
    assert runtime.read_cpuinfo("/no/such/cpuinfo") == ""
    assert TrainingOptions().dtype == "auto"
    assert TrainingOptions(strategy="tpu").resolved_dtype(cpuinfo=ZEN3)[0] == "mixed_bfloat16"
    assert TrainingOptions().resolved_dtype(cpuinfo=SAPPHIRE_RAPIDS)[0] == "mixed_bfloat16"
    assert TrainingOptions().resolved_dtype(cpuinfo=ZEN3)[0] == "float32"
    with pytest.raises(ValueError, match="`dtype` must be one of auto, float32"):
        TrainingOptions(dtype="bfloat16")


def test_xla_by_default_except_bfloat16_or_buckets_on_the_cpu(monkeypatch):
    """XLA's CPU backend has no native bfloat16 matrix kernels, TensorFlow's graph kernels do,
    and a plain graph takes every multiple of 8 as a batch length: on the CPU, bf16 and
    bucketed steps train without XLA unless asked; float32 at one length, GPUs and TPU keep
    XLA."""
    import tensorflow as tf

    gpus = []  # the devices TensorFlow reports, whatever machine runs the test
    monkeypatch.setattr(tf.config, "list_physical_devices",
                        lambda kind=None: gpus if kind == "GPU" else [])
    options = TrainingOptions()
    assert options.resolved_jit_compile("float32") is True
    assert options.resolved_jit_compile("mixed_bfloat16") is False  # CPU only
    assert options.resolved_jit_compile("float32", fixed_length=False) is False
    gpus.append("GPU:0")
    assert options.resolved_jit_compile("mixed_bfloat16") is True
    assert options.resolved_jit_compile("float32", fixed_length=False) is True
    gpus.clear()
    assert TrainingOptions(strategy="tpu").resolved_jit_compile("mixed_bfloat16") is True
    assert TrainingOptions(strategy="mirrored").resolved_jit_compile("float32") is False
    assert TrainingOptions(jit_compile=True).resolved_jit_compile("mixed_bfloat16") is True
    assert TrainingOptions(jit_compile=False).resolved_jit_compile("float32") is False
    assert TrainingOptions(jit_compile=True).resolved_jit_compile("float32", False) is True


@pytest.mark.parametrize("cpuinfo, dtype, compute", [
    (SAPPHIRE_RAPIDS, "mixed_bfloat16", "bfloat16"),
    pytest.param(ZEN3, "float32", "float32", marks=pytest.mark.slow)])  # float32: every test
def test_a_run_prints_its_choice_and_trains_with_it(cpuinfo, dtype, compute, tmp_path,
                                                    monkeypatch, capsys):
    from tests.training.text_data import write_corpus, write_vocab

    from tfbert.training import pretraining

    monkeypatch.setattr(runtime, "read_cpuinfo", lambda path=runtime.CPUINFO: cpuinfo)
    built, train = [], pretraining.train

    def spied_train(*, build, **kwargs):
        def spied_build(chosen):
            model = build(chosen)
            built.append(model.get_layer("bert").compute_dtype)
            return model
        return train(build=spied_build, **kwargs)

    monkeypatch.setattr(pretraining, "train", spied_train)
    corpus = write_corpus(tmp_path / "corpus.txt")
    vocab = write_vocab(corpus, tmp_path / "vocab.txt")
    config = tmp_path / "bert_config.json"
    config.write_text(json.dumps({
        "vocab_size": len(vocab.read_text().splitlines()), "hidden_size": 16,
        "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32,
        "max_position_embeddings": 32}))
    out = tmp_path / "model"
    assert main(["pretrain", "--config", str(config), "--corpus", str(corpus), "--vocab",
                 str(vocab), "--out", str(out), "--steps", "2", "--batch-size", "4",
                 "--seq-length", "16", "--max-predictions-per-seq", "2", "--no-jit-compile",
                 "--progress", "none"]) == 0
    printed = capsys.readouterr().out
    assert printed.count(f"dtype {dtype}: the CPU has ") == 1, printed
    assert "training step: TensorFlow graph, no XLA\n" in printed  # --no-jit-compile
    history = json.loads((out / "history.json").read_text())
    assert history[-1]["step"] == 2
    assert built == [compute]  # the model trained in the chosen precision
    # The model directory holds float32 weights either way.
    assert all(weight.dtype == "float32" for weight in tfbert.load(out).weights)
