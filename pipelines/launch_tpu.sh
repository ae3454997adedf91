#!/usr/bin/env bash
# Launches `tfbert pretrain` on a Cloud TPU, from the TPU VM (or a VM next to a TPU node).
#
#   TPU_NAME=my-tpu pipelines/launch_tpu.sh bert_large_lamb -- --corpus gs://bucket/wiki-*.txt \
#       --vocab vocab.txt --out models/bert_large
#
# CONFIG names pipelines/configs/CONFIG.args (or an .args file). The TPU settings are added:
# --strategy tpu --tpu $TPU_NAME (default "local": the TPU VM's own chips), bfloat16 mixed
# precision, XLA, and STEPS_PER_EXECUTION (default 100) steps per host call, which keeps the
# TPU busy between host round trips. Shapes are static by construction (fixed --seq-length and
# --max-predictions-per-seq, full batches), which XLA on TPU requires. The corpus may be on GCS
# (tf.data reads gs:// paths); --out and --work-dir must be local or mounted paths.
# Rerun the same command after a preemption: training resumes from the backup in OUT.work.
set -euo pipefail

CONFIG=${1:?usage: launch_tpu.sh CONFIG -- TFBERT_PRETRAIN_ARGS...}
shift
[[ "${1:-}" == "--" ]] && shift
HERE=$(cd "$(dirname "$0")" && pwd)
ARGS_FILE=$CONFIG
[[ -f "$ARGS_FILE" ]] || ARGS_FILE="$HERE/configs/$CONFIG.args"
[[ -f "$ARGS_FILE" ]] || { echo "no config $CONFIG (looked for $ARGS_FILE)" >&2; exit 2; }
mapfile -t CONFIG_ARGS < <(grep -v '^\s*#' "$ARGS_FILE" | xargs -n1)
PYTHON=${PYTHON:-$(cd "$HERE/.." && pwd)/.venv/bin/python}

exec "$PYTHON" -m tfbert pretrain "${CONFIG_ARGS[@]}" --strategy tpu --tpu "${TPU_NAME:-local}" \
  --dtype mixed_bfloat16 --jit-compile --steps-per-execution "${STEPS_PER_EXECUTION:-100}" \
  --verbose 2 "$@"
