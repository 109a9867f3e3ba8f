"""CPU feature detection and the one-time int8 warnings."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from ogma import cpu as cpu_module
from ogma.cpu import CpuFeatures, parse_cpuinfo, parse_sysctl, warn_int8_may_saturate, warn_int8_without_gain
from ogma.runtime import INT8_FORMAT, INT8_FORMAT_KEY, SPINNING_ENV, create_session, is_int8_model

EPYC_VNNI = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC
flags\t\t: fpu vme sse sse2 ssse3 fma avx avx2 avx512f avx512dq avx512bw avx512vl avx512_vnni avx512_bf16
bugs\t\t: sysret_ss_attrs

processor\t: 1
flags\t\t: fpu vme sse sse2 ssse3 fma avx avx2 avx512f avx512dq avx512bw avx512vl avx512_vnni avx512_bf16
"""
EPYC_AVX2 = "processor\t: 0\nflags\t\t: fpu sse sse2 ssse3 fma avx avx2 bmi2\n"
SKYLAKE_X = "flags\t\t: fpu sse2 avx avx2 avx512f avx512bw avx512vl\n"  # AVX-512 without VNNI
ALDER_LAKE = "flags\t\t: fpu sse2 avx avx2 avx_vnni\n"  # AVX-VNNI without AVX-512
GRAVITON2 = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics asimddp\n"
CORTEX_A72 = "processor\t: 0\nFeatures\t: fp asimd evtstrm crc32 cpuid\n"


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpu_module, "_warned", set())


@pytest.mark.parametrize(
    ("text", "machine", "vnni", "avx512", "gain"),
    [
        (EPYC_VNNI, "x86_64", True, True, "fast"),
        (EPYC_AVX2, "x86_64", False, False, "none"),
        (SKYLAKE_X, "x86_64", False, True, "none"),
        (ALDER_LAKE, "x86_64", True, False, "fast"),
    ],
    ids=["epyc-vnni", "epyc-avx2", "avx512-no-vnni", "avx-vnni"],
)
def test_parse_x86_cpuinfo(text: str, machine: str, vnni: bool, avx512: bool, gain: str) -> None:
    cpu = parse_cpuinfo(text, machine=machine)
    assert cpu.source == "/proc/cpuinfo" and cpu.is_x86
    assert (cpu.avx2, cpu.vnni, cpu.avx512, cpu.int8_gain) == (True, vnni, avx512, gain)
    assert ("about as fast as float32" in cpu.int8_summary) is (gain == "none")


def test_parse_arm_cpuinfo() -> None:
    graviton, a72 = parse_cpuinfo(GRAVITON2, machine="aarch64"), parse_cpuinfo(CORTEX_A72, machine="aarch64")
    assert graviton.arm_dotprod and graviton.int8_gain == "fast" and graviton.reported_flags == ["asimddp"]
    assert a72.arm_dotprod is False and a72.int8_gain == "none" and a72.vnni is False


def test_unreadable_flags_are_unknown() -> None:
    cpu = parse_cpuinfo("processor : 0\nmodel name : something\n", machine="x86_64")
    assert cpu.flags is None and cpu.source == "unknown"
    assert (cpu.avx2, cpu.vnni, cpu.arm_dotprod) == (None, None, None)
    assert cpu.int8_gain == "unknown" and "unknown" in cpu.int8_summary
    assert parse_cpuinfo(EPYC_VNNI, machine="riscv64").int8_gain == "unknown"


def test_parse_macos_sysctl() -> None:
    intel = parse_sysctl(
        "machdep.cpu.features: FPU SSE SSE2 AVX1.0\nmachdep.cpu.leaf7_features: AVX2 BMI2 AVX512F AVX512BW\n",
        machine="x86_64",
    )
    assert intel.avx2 and intel.avx512 and intel.vnni is False and intel.int8_gain == "none"
    assert parse_sysctl("machdep.cpu.leaf7_features: AVX2 AVX512VNNI", machine="x86_64").int8_gain == "fast"
    apple = parse_sysctl("hw.optional.arm.FEAT_DotProd: 1\n", machine="arm64")
    assert apple.arm_dotprod and apple.int8_gain == "fast"
    assert parse_sysctl("", machine="arm64").int8_gain == "unknown"


def test_this_machine_is_read() -> None:
    cpu = cpu_module.cpu_features()
    assert isinstance(cpu, CpuFeatures) and cpu.int8_gain in ("fast", "none", "unknown")
    if Path("/proc/cpuinfo").is_file():
        assert cpu.flags is not None


def test_no_gain_warning_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    avx2 = parse_cpuinfo(EPYC_AVX2, machine="x86_64")
    with caplog.at_level(logging.WARNING, logger="ogma.cpu"):
        assert warn_int8_without_gain("a/model_int8.onnx", features=avx2) is True
        assert warn_int8_without_gain("b/model_int8.onnx", features=avx2) is False
    (record,) = caplog.records
    message = record.getMessage()
    assert "a/model_int8.onnx" in message and "no speed-up" in message and "ogma doctor" in message
    assert "faster" not in message and "speed-up over" in message


@pytest.mark.parametrize("text", [EPYC_VNNI, ALDER_LAKE, "processor : 0\n"], ids=["vnni", "avx-vnni", "unknown"])
def test_no_warning_where_int8_gains_or_the_cpu_is_unknown(text: str, caplog: pytest.LogCaptureFixture) -> None:
    features = parse_cpuinfo(text, machine="x86_64")
    with caplog.at_level(logging.WARNING, logger="ogma.cpu"):
        assert warn_int8_without_gain("model_int8.onnx", features=features) is False
        assert warn_int8_may_saturate("model_int8.onnx", features=features) is False
    assert caplog.records == []


def test_warnings_can_be_silenced(caplog: pytest.LogCaptureFixture) -> None:
    try:
        with caplog.at_level(logging.WARNING):
            logging.getLogger("ogma.cpu").setLevel(logging.ERROR)
            warn_int8_without_gain("model_int8.onnx", features=parse_cpuinfo(EPYC_AVX2, machine="x86_64"))
        assert caplog.records == []
    finally:
        logging.getLogger("ogma.cpu").setLevel(logging.NOTSET)


def _tiny_int8(path: Path, fmt: str | None) -> Path:
    """A one-node MatMulInteger model, with Ogma's format in its metadata or none."""
    node = helper.make_node("MatMulInteger", ["a", "b"], ["y"])
    b = helper.make_tensor("b", TensorProto.INT8, [2, 2], [1, -2, 3, 4])
    graph = helper.make_graph(
        [node],
        "tiny",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [1, 2])],
        [b],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if fmt is not None:
        helper.set_model_props(model, {INT8_FORMAT_KEY: fmt})
    onnx.save_model(model, str(path))
    return path


def test_session_reports_its_int8_format(tmp_path: Path) -> None:
    ours = _tiny_int8(tmp_path / "ours.onnx", INT8_FORMAT)
    foreign = _tiny_int8(tmp_path / "model_quantized.onnx", None)
    plain = _tiny_int8(tmp_path / "model.onnx", None)
    assert is_int8_model(create_session(ours, threads=1), ours) == INT8_FORMAT
    assert is_int8_model(create_session(foreign, threads=1), foreign) == "unknown"
    assert is_int8_model(create_session(plain, threads=1), plain) is None
    (y,) = create_session(ours, threads=1).run(None, {"a": np.array([[2, 1]], dtype=np.uint8)})
    assert y.tolist() == [[5, 0]]


def test_loading_int8_without_vnni_warns_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    avx2 = parse_cpuinfo(EPYC_AVX2, machine="x86_64")
    monkeypatch.setattr(cpu_module, "cpu_features", lambda: avx2)
    ours = _tiny_int8(tmp_path / "model_int8.onnx", INT8_FORMAT)
    foreign = _tiny_int8(tmp_path / "model_qint8_avx512.onnx", None)
    with caplog.at_level(logging.WARNING, logger="ogma.cpu"):
        create_session(ours, threads=1)
        create_session(ours, threads=1)
        assert len(caplog.records) == 1 and "no speed-up" in caplog.records[0].getMessage()
        create_session(foreign, threads=1)  # a format Ogma did not write: may saturate here
        create_session(foreign, threads=1)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2 and "ogma convert --int8" in messages[1] and "saturating" in messages[1]


def test_loading_int8_with_vnni_is_silent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(cpu_module, "cpu_features", lambda: parse_cpuinfo(EPYC_VNNI, machine="x86_64"))
    with caplog.at_level(logging.WARNING, logger="ogma.cpu"):
        create_session(_tiny_int8(tmp_path / "model_quantized.onnx", None), threads=1)
    assert caplog.records == []


@pytest.mark.parametrize(("value", "expected"), [(None, "0"), ("0", "0"), ("1", "1"), ("yes", "0")])
def test_thread_spinning_is_off_unless_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str | None, expected: str
) -> None:
    if value is None:
        monkeypatch.delenv(SPINNING_ENV, raising=False)
    else:
        monkeypatch.setenv(SPINNING_ENV, value)
    session = create_session(_tiny_int8(tmp_path / "model.onnx", INT8_FORMAT), threads=2)
    assert session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning") == expected
