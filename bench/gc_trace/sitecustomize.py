"""Benchmark servers only: record every full (generation 2) garbage collection's pause.

`bench.common.Server` puts this directory first on the server's PYTHONPATH and names a directory in
TASTEGRAPH_BENCH_GC_LOG; Python imports this module at start in the supervisor and each worker, and each
process appends one line per full pass, "<unix time> <milliseconds>", to gc.<pid> there. Full passes
are a few per second at most, so the file append costs nothing measurable; younger generations are
not recorded (under 2 ms each)."""

from __future__ import annotations

import os

_log_dir = os.environ.get("TASTEGRAPH_BENCH_GC_LOG")
if _log_dir:
    import gc
    import time
    from typing import Any

    _path = os.path.join(_log_dir, f"gc.{os.getpid()}")
    _began = [0.0]

    def _full_pass(phase: str, info: dict[str, Any]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            _began[0] = time.perf_counter()
            return
        pause_ms = (time.perf_counter() - _began[0]) * 1000
        with open(_path, "a") as f:
            f.write(f"{time.time():.3f} {pause_ms:.2f}\n")

    gc.callbacks.append(_full_pass)
