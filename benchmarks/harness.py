"""Shared helpers for the tfbert benchmarks.

Stable names used by the `bench_*.py` modules:

- `Row(benchmark, case, unit, ours, peers, note="")`: one table row. `ours` and each value in
  `peers` (peer name -> value) are throughputs in `unit`, so higher is better.
- `measure(fn, *, warmup=2, min_time_s=3.0, min_repeats=5, statistic=median) -> float`: median
  seconds per call.
- `measure_interleaved(fns, *, warmup=2, min_time_s=3.0, min_repeats=5, statistic=median)
  -> dict[str, float]`: median seconds per call of each candidate, timed round by round (one call
  of each candidate per round, rotating the order) so machine noise hits every candidate alike.
  `statistic=min` gives the fastest call instead, the least disturbed one on a busy machine.
- `peak_matmul(dtype) -> (fn, flops)`: the large square TensorFlow matmul that defines "peak"
  ("float32" or "bfloat16"), as a candidate to time next to a model, and its FLOPs per call.
- `matmul_peak_gflops(dtype) -> float`: this machine's TensorFlow matmul rate for `dtype`
  (`peak_matmul` timed alone), measured once per process.
- `format_table(rows) -> str` and `print_table(rows)`: the aligned markdown table.
- `CpuMeter()`: what the machine did between its creation and `.report()`: wall seconds, cores
  busy on average, and CPU-seconds the hypervisor stole (`/proc/stat`). A VM that steals time
  slows every candidate alike only when the steal is spread evenly, so rows on shared VMs say it.

Every timed `fn` must return only once its work is done (on CPU, eager TF and PyTorch calls do).
"""
import dataclasses
import functools
import math
import os
import pathlib
import statistics
import time
from collections.abc import Callable

# Side of the square matmul that defines "peak": large enough to be compute-bound, and not a power
# of two (4096 ran at half the rate of 3072 on the AVX2 test machine: cache-set aliasing).
PEAK_MATMUL_SIZE = 3072


@dataclasses.dataclass
class Row:
    """One benchmark result: our throughput and each peer's, in the same unit."""

    benchmark: str
    case: str
    unit: str
    ours: float
    peers: dict[str, float]
    note: str = ""


def measure_interleaved(
    fns: dict[str, Callable[[], object]],
    *,
    warmup: int = 2,
    min_time_s: float = 3.0,
    min_repeats: int = 5,
    statistic: Callable[[list[float]], float] = statistics.median,
) -> dict[str, float]:
    """Seconds per call of each candidate (`statistic` of its calls), timed in alternating rounds.

    Each candidate is first called `warmup` times (compilation, caches). Then every round calls
    each candidate once, rotating the order, until at least `min_repeats` rounds have run and the
    timed rounds together took at least `min_time_s`.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    order = list(fns)
    rounds = 0
    total = 0.0
    while rounds < min_repeats or total < min_time_s:
        for name in order:
            start = time.perf_counter()
            fns[name]()
            elapsed = time.perf_counter() - start
            times[name].append(elapsed)
            total += elapsed
        order = order[1:] + order[:1]
        rounds += 1
    return {name: statistic(ts) for name, ts in times.items()}


def measure(
    fn: Callable[[], object],
    *,
    warmup: int = 2,
    min_time_s: float = 3.0,
    min_repeats: int = 5,
    statistic: Callable[[list[float]], float] = statistics.median,
) -> float:
    """Seconds per call of `fn`, by default the median (see `measure_interleaved`)."""
    result = measure_interleaved(
        {"fn": fn},
        warmup=warmup,
        min_time_s=min_time_s,
        min_repeats=min_repeats,
        statistic=statistic,
    )
    return result["fn"]


class CpuMeter:
    """CPU accounting of the whole machine from creation on (Linux `/proc/stat`; zeros elsewhere).

    >>> meter = CpuMeter()
    >>> sorted(meter.report())
    ['cores_busy', 'steal_s', 'wall_s']
    """

    def __init__(self) -> None:
        self._start = (time.perf_counter(), *_cpu_seconds())

    def report(self) -> dict[str, float]:
        """Wall seconds so far, cores busy on average, CPU-seconds stolen by the hypervisor."""
        now = (time.perf_counter(), *_cpu_seconds())
        wall, busy, steal = (b - a for a, b in zip(self._start, now))
        return {"wall_s": round(wall, 1), "cores_busy": round(busy / max(wall, 1e-9), 2),
                "steal_s": round(steal, 1)}

    def summary(self) -> str:
        """`report()` as a phrase for a row's note."""
        report = self.report()
        return (f"{report['cores_busy']:.2f} cores busy, VM steal {report['steal_s']:.0f} "
                f"CPU-s in {report['wall_s']:.0f} s")


def _cpu_seconds() -> tuple[float, float]:
    """(busy, steal) CPU-seconds of all cores since boot, from the `cpu` line of /proc/stat."""
    stat = pathlib.Path("/proc/stat")
    if not stat.exists():
        return 0.0, 0.0
    ticks = [int(value) for value in stat.read_text().split("\n", 1)[0].split()[1:]]
    hertz = os.sysconf("SC_CLK_TCK")
    user, nice, system, _idle, _iowait, irq, softirq, steal = ticks[:8]
    return (user + nice + system + irq + softirq) / hertz, steal / hertz


def peak_matmul(dtype: str = "float32") -> tuple[Callable[[], object], float]:
    """One n×n by n×n matmul in a `tf.function` (n = PEAK_MATMUL_SIZE) and its 2·n³ FLOPs."""
    import tensorflow as tf

    n = PEAK_MATMUL_SIZE
    a = tf.cast(tf.random.normal([n, n]), dtype)
    b = tf.cast(tf.random.normal([n, n]), dtype)
    matmul = tf.function(lambda: tf.matmul(a, b)[0, 0])
    return (lambda: matmul().numpy()), 2.0 * n**3


@functools.cache
def matmul_peak_gflops(dtype: str = "float32") -> float:
    """GFLOP/s of `peak_matmul(dtype)` timed alone, cached per process."""
    fn, flops = peak_matmul(dtype)
    return flops / measure(fn, min_time_s=2.0) / 1e9


def _format_value(value: float) -> str:
    if math.isnan(value):
        return "failed"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if value >= 1 else f"{value:.3f}"


def format_table(rows: list[Row]) -> str:
    """Aligned markdown table: one column per peer, each cell `value (×ours/peer)`."""
    peer_names = list(dict.fromkeys(name for row in rows for name in row.peers))
    header = ["benchmark", "case", "unit", "ours", *(f"{p} (ours/peer)" for p in peer_names)]
    header.append("note")
    body = []
    for row in rows:
        cells = [row.benchmark, row.case, row.unit, _format_value(row.ours)]
        for name in peer_names:
            value = row.peers.get(name)
            if value is None:
                cells.append("")
            else:
                ratio = row.ours / value if value > 0 else math.nan
                cells.append(f"{_format_value(value)} (×{ratio:.2f})")
        cells.append(row.note)
        body.append(cells)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = [header, ["-" * w for w in widths], *body]
    return "\n".join(
        "| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |" for line in lines
    )


def print_table(rows: list[Row]) -> None:
    """Print `format_table(rows)`."""
    print(format_table(rows), flush=True)
