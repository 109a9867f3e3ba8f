"""``ogma serve`` in a fresh process: options, one-line errors, and SIGTERM under load."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ogma.cli import main
from tests.helpers.serve import free_port


def start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "ogma.cli", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )


def wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"ogma serve exited: {process.stderr.read().decode() if process.stderr else ''}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError("ogma serve did not become healthy")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--port", "0"], "--port"),
        (["--port", "70000"], "--port"),
        (["--max-wait-ms", "-1"], "--max-wait-ms"),
        (["--max-inputs", "5000", "--max-queue", "100"], "--max-inputs"),
        (["--queue-timeout", "soon"], "--queue-timeout"),
        (["--api-key", " "], "--api-key"),
    ],
)
def test_bad_options_are_one_line_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_a_missing_model_fails_before_listening(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "-m", str(tmp_path / "nope"), "--port", str(free_port())]) == 2
    assert "nope" in capsys.readouterr().err


def gauge(url: str, name: str) -> float:
    for line in httpx.get(url + "/metrics", timeout=10).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def test_sigterm_under_load_loses_no_accepted_request(tiny_model_dir: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start(
        ["-m", str(tiny_model_dir), "--port", str(port), "--max-batch-rows", "8", "--max-queue", "32768", "-q"]
    )
    try:
        wait_healthy(url, process)
        texts = [f"paris cat river {'dog mountain ' * (i % 60)}" for i in range(1024)]
        done: list[int] = []

        def call(i: int) -> int | str:
            response = httpx.post(url + "/v1/embeddings", json={"input": texts[i:] + texts[:i]}, timeout=300)
            done.append(i)
            return response.status_code if response.status_code == 200 else f"{response.status_code}: {response.text}"

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            futures = [pool.submit(call, i) for i in range(16)]
            deadline = time.monotonic() + 60
            # every request accepted (in flight, this /metrics call aside) or already answered
            while gauge(url, "ogma_requests_in_flight") - 1 + len(done) < 16 and time.monotonic() < deadline:
                time.sleep(0.01)
            in_flight = 16 - len(done)
            process.send_signal(signal.SIGTERM)
            statuses = [f.result() for f in futures]
        assert process.wait(120) == 0
        assert statuses == [200] * 16
        assert in_flight > 0  # the signal came under load
        with pytest.raises(httpx.ConnectError):
            httpx.get(url + "/health", timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
