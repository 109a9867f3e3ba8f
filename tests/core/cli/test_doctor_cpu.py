"""``ogma doctor`` reports the CPU's int8 support and what int8 gains on it."""

from __future__ import annotations

import json

import pytest

from ogma import cpu as cpu_module
from ogma.cli import main
from ogma.cpu import parse_cpuinfo


@pytest.mark.parametrize(
    ("flags", "flag_line", "int8_line"),
    [
        ("fpu avx2 avx512f avx512_vnni", "avx2, avx512f, avx512_vnni", "AVX-512 VNNI: int8 about 2-2.5x float32"),
        ("fpu avx2", "avx2", "no VNNI (AVX2): int8 about as fast as float32"),
        ("fpu avx2 avx512f", "avx2, avx512f", "no VNNI (AVX-512 without VNNI)"),
        ("fpu sse2", "none", "no VNNI (no AVX2)"),
    ],
    ids=["vnni", "avx2", "avx512-no-vnni", "sse-only"],
)
def test_doctor_reports_int8_support(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], flags: str, flag_line: str, int8_line: str
) -> None:
    monkeypatch.setattr(cpu_module, "cpu_features", lambda: parse_cpuinfo(f"flags : {flags}", machine="x86_64"))
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert f"int8-relevant flags: {flag_line}\n" in out
    assert int8_line in out


def test_doctor_unknown_cpu(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cpu_module, "cpu_features", lambda: parse_cpuinfo("", machine="x86_64"))
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "int8-relevant flags: unknown" in out and "int8 models       unknown" in out


def test_doctor_json_cpu(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cpu_module, "cpu_features", lambda: parse_cpuinfo("flags : avx2", machine="x86_64"))
    assert main(["doctor", "--json"]) == 0
    cpu = json.loads(capsys.readouterr().out)["cpu"]
    assert cpu["vnni"] is False and cpu["avx2"] is True and cpu["int8_gain"] == "none"
    assert cpu["int8_flags"] == ["avx2"] and cpu["flags_source"] == "/proc/cpuinfo"
