"""The soak (bench/soak.py) for two minutes: one instance under mixed load stays flat (RSS, descriptors,
database connections, p95 response time; the criterion in numbers is in bench/soak.py's doc) and
every request succeeds. The 30-minute run is `bench/soak.py --minutes 30` (bench/RESULTS.md)."""

import os
import subprocess
import sys

from tests.e2e.servers import REPO_ROOT


def test_two_minutes_of_mixed_load_stay_flat(tmp_path):
    out = tmp_path / "soak.jsonl"
    result = subprocess.run(
        [
            sys.executable,
            "bench/soak.py",
            "--minutes",
            "2",
            "--sample-seconds",
            "10",
            "--workdir",
            str(tmp_path),
            "--out",
            str(out),
        ],
        cwd=REPO_ROOT,
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(result.stdout)
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert "FLAT" in result.stdout.splitlines()[-1]
    assert len(out.read_text().splitlines()) >= 10
