"""A small run of bench/demo_load.py: two loads of the same tree give the same rows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_load_small_run() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "demo_load.py"), "--old", str(ROOT / "src"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["check"]["same_rows"] and result["rows"]["pins"] == 300
    assert len(result["seconds"]["old"]) == len(result["seconds"]["new"]) == 1
