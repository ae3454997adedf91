"""Run the tfbert benchmarks and print one table.

    python benchmarks/run.py [--only SUBSTRING] [--quick]

Runs every `benchmarks/bench_*.py` module (sorted; `--only` keeps those whose name contains
SUBSTRING) by calling its `run(quick) -> list[Row]`. A module that raises shows up in the table as
failed with its error, and the others still run. The rows also go to bench_output/results.json,
with each module's wall time, cores busy and VM steal time (`harness.CpuMeter`).
"""
import argparse
import dataclasses
import datetime
import importlib
import json
import math
import os
import pathlib
import platform
import sys
import traceback

from harness import CpuMeter, Row, print_table

BENCH_DIR = pathlib.Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
OUTPUT_FILE = REPO_DIR / "bench_output" / "results.json"
# CPU flags that decide matmul speed: AVX-512 and bf16 / AMX support double or more the peak.
ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16")

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path[1:1] = [str(REPO_DIR)]  # sys.path[0] is BENCH_DIR; import tfbert from this checkout

from tfbert.runtime import use_caching_cpu_allocator  # noqa: E402

# The CPU allocator of the `tfbert` commands, for every TensorFlow candidate in this process, so
# in-process rows compare with the `tfbert serve` and worker processes the benchmarks start.
use_caching_cpu_allocator()


def discover(only: str | None) -> list[str]:
    """Names of the benchmark modules to run, sorted."""
    names = sorted(path.stem for path in BENCH_DIR.glob("bench_*.py"))
    return [name for name in names if only is None or only in name]


def run_module(name: str, quick: bool) -> tuple[list[Row], dict[str, float]]:
    """The module's rows (or one failed row carrying its error) and the machine's CPU meanwhile."""
    meter = CpuMeter()
    print(f"[{name}] running{' (quick)' if quick else ''}...", file=sys.stderr, flush=True)
    try:
        rows = importlib.import_module(name).run(quick)
    except Exception as error:  # report and go on with the other modules
        traceback.print_exc()
        message = " ".join(f"{type(error).__name__}: {error}".split())[:200]
        rows = [Row(name, "failed", "", math.nan, {}, message)]
    print(f"[{name}] done: {meter.summary()}", file=sys.stderr, flush=True)
    return rows, meter.report()


def machine() -> dict[str, object]:
    """What the numbers were measured on: CPU model, core count, the vector ISA that matters."""
    info: dict[str, object] = {"cpu": platform.processor(), "cores": os.cpu_count()}
    cpuinfo = pathlib.Path("/proc/cpuinfo")
    if cpuinfo.exists():
        fields = dict(
            line.split(":", 1) for line in cpuinfo.read_text().splitlines() if ":" in line)
        fields = {key.strip(): value.strip() for key, value in fields.items()}
        flags = set(fields.get("flags", "").split())
        info["cpu"] = fields.get("model name", info["cpu"])
        info["isa"] = [isa for isa in ISA_FLAGS if isa in flags]
    info["python"] = platform.python_version()
    return info


def write_json(rows: list[Row], cpu: dict[str, dict[str, float]], quick: bool) -> None:
    """Rows (failed values as null), the date, the machine and each module's CPU, to OUTPUT_FILE."""
    def clean(value: float) -> float | None:
        return None if math.isnan(value) else value

    records = []
    for row in rows:
        record = dataclasses.asdict(row)
        record["ours"] = clean(row.ours)
        record["peers"] = {name: clean(value) for name, value in row.peers.items()}
        records.append(record)
    OUTPUT_FILE.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "quick": quick,
        "machine": machine(),
        "cpu_per_module": cpu,
        "rows": records,
    }
    OUTPUT_FILE.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", metavar="SUBSTRING",
                        help="run only the modules whose name contains SUBSTRING")
    parser.add_argument("--quick", action="store_true", help="few repetitions, for a smoke test")
    args = parser.parse_args(argv)
    names = discover(args.only)
    if not names:
        parser.error(f"no benchmarks/bench_*.py module name contains {args.only!r}")
    rows, cpu = [], {}
    for name in names:
        module_rows, cpu[name] = run_module(name, args.quick)
        rows.extend(module_rows)
        write_json(rows, cpu, args.quick)  # after each module: a later crash keeps these
    print_table(rows)
    print(f"wrote {OUTPUT_FILE.relative_to(REPO_DIR)}", file=sys.stderr)
    return 1 if any(math.isnan(row.ours) for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
