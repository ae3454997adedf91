#!/usr/bin/env bash
# Launches `tfbert pretrain` on several hosts with MultiWorkerMirroredStrategy.
#
#   HOSTS="gpu1 gpu2 gpu3" pipelines/launch_multi_worker.sh CONFIG -- --corpus ... --vocab ... --out DIR
#   LOCAL_WORKERS=2 pipelines/launch_multi_worker.sh bert_tiny -- --corpus c.txt --vocab v.txt --out m
#
# CONFIG names pipelines/configs/CONFIG.args (or is a path to an .args file). Every worker runs
# the same command with its own TF_CONFIG (task index = position in HOSTS); worker 0 is the
# chief and writes the model directory, TensorBoard logs and checkpoints. --out and --work-dir
# must be on a file system every host sees (e.g. NFS), and the corpus readable from every host.
# With HOSTS, workers start over ssh (the same checkout and venv path on every host, TFBERT_DIR);
# LOCAL_WORKERS=N instead starts N CPU workers on 127.0.0.1 (for trying the set-up).
# PORT (default 23456) is the first port; worker i listens on PORT+i. Logs: WORKDIR_LOGS/worker_i.log.
# If a worker dies, stop the others and rerun this script: training resumes from the backup.
set -euo pipefail

CONFIG=${1:?usage: launch_multi_worker.sh CONFIG -- TFBERT_PRETRAIN_ARGS...}
shift
[[ "${1:-}" == "--" ]] && shift
HERE=$(cd "$(dirname "$0")" && pwd)
ARGS_FILE=$CONFIG
[[ -f "$ARGS_FILE" ]] || ARGS_FILE="$HERE/configs/$CONFIG.args"
[[ -f "$ARGS_FILE" ]] || { echo "no config $CONFIG (looked for $ARGS_FILE)" >&2; exit 2; }
mapfile -t CONFIG_ARGS < <(grep -v '^\s*#' "$ARGS_FILE" | xargs -n1)
TFBERT_DIR=${TFBERT_DIR:-$(cd "$HERE/.." && pwd)}
PYTHON=${PYTHON:-$TFBERT_DIR/.venv/bin/python}
PORT=${PORT:-23456}
LOGS=${WORKDIR_LOGS:-multi_worker_logs}
mkdir -p "$LOGS"

if [[ -n "${LOCAL_WORKERS:-}" ]]; then
  WORKERS=(); for ((i = 0; i < LOCAL_WORKERS; i++)); do WORKERS+=("127.0.0.1:$((PORT + i))"); done
else
  read -r -a HOST_LIST <<< "${HOSTS:?set HOSTS=\"host1 host2 ...\" or LOCAL_WORKERS=N}"
  WORKERS=(); for ((i = 0; i < ${#HOST_LIST[@]}; i++)); do WORKERS+=("${HOST_LIST[i]}:$((PORT + i))"); done
fi
CLUSTER=$(printf '"%s",' "${WORKERS[@]}")
CLUSTER="{\"worker\": [${CLUSTER%,}]}"

PIDS=()
for ((i = 0; i < ${#WORKERS[@]}; i++)); do
  TF_CONFIG="{\"cluster\": $CLUSTER, \"task\": {\"type\": \"worker\", \"index\": $i}}"
  COMMAND=("$PYTHON" -m tfbert pretrain "${CONFIG_ARGS[@]}" "$@" --strategy multi_worker --verbose 2)
  if [[ -n "${LOCAL_WORKERS:-}" ]]; then
    (cd "$TFBERT_DIR" && TF_CONFIG=$TF_CONFIG "${COMMAND[@]}") > "$LOGS/worker_$i.log" 2>&1 &
  else
    ssh "${HOST_LIST[i]}" "cd $(printf %q "$TFBERT_DIR") && TF_CONFIG=$(printf %q "$TF_CONFIG") $(printf '%q ' "${COMMAND[@]}")" \
      > "$LOGS/worker_$i.log" 2>&1 &
  fi
  PIDS+=($!)
  echo "worker $i (${WORKERS[i]}): log $LOGS/worker_$i.log"
done

STATUS=0
for pid in "${PIDS[@]}"; do wait "$pid" || STATUS=$?; done
if [[ $STATUS -ne 0 ]]; then echo "a worker failed (status $STATUS); see $LOGS/" >&2; fi
exit $STATUS
