"""Memory stays bounded: ``ogma index`` on a large generated file, in a child process whose peak RSS is checked.

``RLIMIT_AS`` is no use as a cap (ONNX Runtime reserves far more address space than it
touches), so the child reports its own peak resident set size (``VmHWM``) and the
test asserts a bound on it. Tokenising a file in one call, as ``ogma index`` did before it
streamed, cannot meet the bound (10 MB took 1.4 GB in ``benchmarks/bench_memory.py``); now
the peak stays near the interpreter's baseline whatever the file size. Speed is not asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers.tiny_models import WORDS, make_tiny_bert_folder

_CHILD = """
import json, resource, sys
from ogma.cli import main
from ogma.store import Store
code = main(sys.argv[1:])
with Store(sys.argv[sys.argv.index("--db") + 1], read_only=True) as store:
    count = store.count()
try:  # Linux: this process's own high-water mark. ru_maxrss would also count the parent's
    # resident set at fork time, which Linux carries across exec (pytest's, hundreds of MB).
    with open("/proc/self/status") as status:
        peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except OSError:
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 if sys.platform == "darwin" else 1)
print(json.dumps({"exit": code, "chunks": count, "peak_mb": peak_kb / 1024}))
"""

_BOUND_MB = 400
_FILE_MB = 8


def _write_big_text(path: Path, megabytes: int) -> None:
    sentence = " ".join(WORDS[:40]) + ".\n"
    paragraph = sentence * 5 + "\n"
    block = paragraph * (1_000_000 // len(paragraph))
    with open(path, "w", encoding="utf-8") as handle:
        for part in range(megabytes):
            handle.write(f"Part {part}.\n\n{block}")


def test_indexing_a_large_file_stays_under_a_memory_bound(tmp_path: Path) -> None:
    model = make_tiny_bert_folder(tmp_path / "tiny")
    big = tmp_path / "big.txt"
    _write_big_text(big, _FILE_MB)
    db = tmp_path / "big.ogma"
    argv = ["index", str(big), "--db", str(db), "-q", "-m", str(model), "--max-tokens", "400", "--overlap", "0"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, *argv], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["exit"] == 0, result
    assert result["chunks"] > big.stat().st_size // 8 // 400  # the whole file was indexed (words are ~6 chars)
    assert result["peak_mb"] < _BOUND_MB, f"peak RSS {result['peak_mb']:.0f} MB for an {_FILE_MB} MB file"
