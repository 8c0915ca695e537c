"""The portable CPU mode (procrustean.cpu_mode): its switches, and the same bytes from a real
training run and evaluation on this machine's processor and on an emulated one.

The emulated processor is qemu-user's Haswell (Intel, AVX2 and FMA3, no AVX-512) running the
same interpreter and wheels on this machine (an AMD processor here). qemu 7.2's TCG cannot
emulate AVX-512 (it drops those CPUID bits from Skylake-Server, Icelake-Server, ...), so an
emulated AVX-512 server is not available; Haswell is another vendor and microarchitecture than
the host at the level the mode pins to.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

from procrustean import cpu_mode
from tests.helpers import (
    BIN,
    IN_CI,
    REPO,
    cli_env,
    evaluate_args,
    run_cli,
    split_args,
    train_args,
    write_params,
)

EMULATED_CPU = "Haswell"  # qemu-x86_64 -cpu help: Intel Core Processor (Haswell)
QEMU = "qemu-x86_64"
COMPARED = ("model.pt", "history.json", "metrics.json")
BATCH = 16

# What CPUID says, read with the instruction itself: under qemu-user /proc/cpuinfo is the
# host's, so this is the only way to see the processor the emulated programs run on.
CPUID_SCRIPT = r"""
import ctypes, json, mmap, struct
code = bytes([0x53, 0x89, 0xF8, 0x31, 0xC9, 0x0F, 0xA2, 0x89, 0x06, 0x89, 0x5E, 0x04,
              0x89, 0x4E, 0x08, 0x89, 0x56, 0x0C, 0x5B, 0xC3])  # cpuid(eax=leaf, ecx=0) -> out
try:
    buf = mmap.mmap(-1, len(code), prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
except (OSError, ValueError):
    print(json.dumps(None)); raise SystemExit
buf.write(code)
fn = ctypes.CFUNCTYPE(None, ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint32))(
    ctypes.addressof(ctypes.c_char.from_buffer(buf)))
def cpuid(leaf):
    out = (ctypes.c_uint32 * 4)(); fn(leaf, out); return list(out)  # eax, ebx, ecx, edx
vendor = struct.pack("<3I", *[cpuid(0)[i] for i in (1, 3, 2)]).decode()
brand = b"".join(struct.pack("<4I", *cpuid(leaf)) for leaf in (0x80000002, 0x80000003, 0x80000004))
ebx7, ecx1 = cpuid(7)[1], cpuid(1)[2]
print(json.dumps({"vendor": vendor, "brand": brand.rstrip(b"\0").decode().strip(),
                  "avx2": bool(ebx7 >> 5 & 1), "fma": bool(ecx1 >> 12 & 1),
                  "avx512f": bool(ebx7 >> 16 & 1)}))
"""


# ---------------------------------------------------------------------------------------------
# cpu_mode's switches (no torch kernels run; torch is not re-imported)


@pytest.fixture
def clean_env(monkeypatch):
    """No mode asked for and none of the pinned variables set; an x86-64 machine."""
    for key in (cpu_mode.MODE_ENV, *cpu_mode.PORTABLE_ENV):
        monkeypatch.delenv(key, raising=False)  # restored after the test, whatever apply() set
    monkeypatch.setattr(cpu_mode, "pinnable", lambda: True)
    return monkeypatch


def test_apply_sets_the_pins_unless_native_is_asked_for(clean_env):
    assert cpu_mode.apply() == "portable"
    assert {k: os.environ.get(k) for k in cpu_mode.PORTABLE_ENV} == {
        "ATEN_CPU_CAPABILITY": "avx2",
        "ONEDNN_MAX_CPU_ISA": "AVX2",
        "MKL_CBWR": "COMPATIBLE,STRICT",
    }
    for key in cpu_mode.PORTABLE_ENV:
        clean_env.delenv(key)
    for native in ("native", " NATIVE\n"):
        clean_env.setenv(cpu_mode.MODE_ENV, native)
        assert cpu_mode.apply() == "native"
        assert not any(k in os.environ for k in cpu_mode.PORTABLE_ENV)
    for other in ("portable", "anything-else", ""):
        clean_env.setenv(cpu_mode.MODE_ENV, other)
        assert cpu_mode.requested_mode() == "portable"


def test_native_removes_the_pins_a_portable_parent_passed_down(clean_env):
    """A native run started from a portable process (a shell that imported procrustean, a
    Snakemake run) must not keep the parent's pins; a value set by hand to another path stays."""
    assert cpu_mode.apply() == "portable"
    clean_env.setenv("MKL_CBWR", "AVX512")  # the user's own choice
    clean_env.setenv(cpu_mode.MODE_ENV, "native")
    assert cpu_mode.apply() == "native"
    assert {k: os.environ.get(k) for k in cpu_mode.PORTABLE_ENV} == {
        "ATEN_CPU_CAPABILITY": None,
        "ONEDNN_MAX_CPU_ISA": None,
        "MKL_CBWR": "AVX512",
    }
    assert cpu_mode.in_effect() == "native"


def test_apply_leaves_a_machine_without_a_portable_path_alone(clean_env):
    clean_env.setattr(cpu_mode, "pinnable", lambda: False)
    assert cpu_mode.apply() == "native"
    assert not any(k in os.environ for k in cpu_mode.PORTABLE_ENV)
    assert cpu_mode.environment() == {}


def test_environment_is_what_a_child_process_must_carry(clean_env):
    env = cpu_mode.environment()
    assert env == cpu_mode.PORTABLE_ENV
    env["MKL_CBWR"] = "AUTO"  # a copy: the module's pins are not changed through it
    assert cpu_mode.PORTABLE_ENV["MKL_CBWR"] == "COMPATIBLE,STRICT"
    assert not any(k in os.environ for k in cpu_mode.PORTABLE_ENV)  # it sets nothing
    clean_env.setenv(cpu_mode.MODE_ENV, "native")
    assert cpu_mode.environment() == {}


def test_in_effect_needs_every_pin_at_its_value(clean_env):
    assert cpu_mode.in_effect() == "native"
    clean_env.setenv("ATEN_CPU_CAPABILITY", "avx2")
    clean_env.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert cpu_mode.in_effect() == "native"  # MKL_CBWR missing
    clean_env.setenv("MKL_CBWR", "COMPATIBLE,STRICT")
    assert cpu_mode.in_effect() == "portable"
    clean_env.setenv("ATEN_CPU_CAPABILITY", "avx512")
    assert cpu_mode.in_effect() == "native"
    clean_env.setenv("ATEN_CPU_CAPABILITY", "avx2")
    clean_env.setattr(cpu_mode, "pinnable", lambda: False)
    assert cpu_mode.in_effect() == "native"


def test_describe_says_what_ran_and_whether_it_is_portable(clean_env):
    import torch

    cpu_mode.apply()
    cpu = cpu_mode.describe("cpu")
    assert cpu["mode"] == "portable"
    assert cpu["pinned"] == cpu_mode.PORTABLE_ENV
    assert cpu["aten_capability"] == torch.backends.cpu.get_cpu_capability()
    assert cpu["cpu_model"] == cpu_mode.cpu_model() and cpu["cpu_model"]
    assert cpu["bit_exact_across_machines"].startswith("yes")
    cuda = cpu_mode.describe("cuda")
    assert cuda["mode"] == "portable"  # the CPU side is pinned; the GPU's kernels are not
    assert (
        cuda["bit_exact_across_machines"].startswith("no")
        and "CUDA" in (cuda["bit_exact_across_machines"])
    )
    clean_env.setenv("MKL_CBWR", "AUTO")
    native = cpu_mode.describe("cpu")
    assert native["mode"] == "native" and native["pinned"]["MKL_CBWR"] == "AUTO"
    assert native["bit_exact_across_machines"].startswith("no: native mode")
    clean_env.setattr(cpu_mode, "pinnable", lambda: False)
    assert cpu_mode.describe("cpu")["bit_exact_across_machines"].startswith(
        "no: no portable kernel path"
    )


# ---------------------------------------------------------------------------------------------
# The same bytes on another processor


def _require_qemu() -> str:
    qemu = shutil.which(QEMU)
    if qemu is None:
        if IN_CI:
            pytest.fail(f"{QEMU} is missing in CI: scripts/setup.sh should have installed it")
        pytest.skip(f"{QEMU} not installed (apt-get install qemu-user)")
    return qemu


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _child_env() -> dict[str, str]:
    """The CLI's environment without the mode's variables: the CLI must set them itself."""
    env = cli_env()
    for key in (cpu_mode.MODE_ENV, *cpu_mode.PORTABLE_ENV):
        env.pop(key, None)
    return env


def _emulated(qemu: str, args: list[str], cwd: Path) -> subprocess.Popen:
    """``procrustean ARGS`` on the emulated processor: the venv's interpreter resolved to its
    binary (qemu cannot run the venv's symlink as a venv), the venv's packages on PYTHONPATH."""
    paths = sysconfig.get_paths()
    pythonpath = [paths["purelib"], paths["platlib"], str(REPO / "src")]
    env = {**_child_env(), "PYTHONPATH": os.pathsep.join(dict.fromkeys(pythonpath))}
    python = str(Path(sys.executable).resolve())
    return subprocess.Popen(
        [qemu, "-cpu", EMULATED_CPU, python, "-m", "procrustean", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen, what: str, timeout: float = 900) -> str:
    out, err = proc.communicate(timeout=timeout)
    err = "\n".join(line for line in err.splitlines() if "TCG doesn't support" not in line)
    assert proc.returncode == 0, f"{what} failed under {QEMU} -cpu {EMULATED_CPU}:\n{out}\n{err}"
    return out + err


def _cpuid(command: list[str]) -> dict | None:
    proc = subprocess.run(
        [*command, "-c", CPUID_SCRIPT], capture_output=True, text=True, timeout=300
    )
    return json.loads(proc.stdout) if proc.returncode == 0 and proc.stdout.strip() else None


def _record(folder: Path, output: str) -> dict:
    return json.loads((folder / f"{output}.prov.json").read_text())


@pytest.mark.ci
@pytest.mark.slow
def test_training_and_evaluation_give_the_same_bytes_on_an_emulated_processor(tmp_path, params):
    """A one-epoch MFW run and its evaluation through the CLI, here and under qemu's Haswell.

    Each side runs its stages as processes of their own, with none of the mode's variables in
    their environment (procrustean's import sets them). The emulated evaluation reads the
    native checkpoint so that it can run beside the emulated training (the runs are slow under
    emulation); the checkpoints are compared byte for byte, so it is the same input."""
    qemu = _require_qemu()
    started = time.monotonic()
    synthetic = params["datasets"]["synthetic"]
    synthetic.update(max_per_class=10, test_per_class=2, image_size=8)  # 55 training images
    params["recipes"]["smoke"].update(
        epochs=1,
        warmup_epochs=0,
        lr_decays=[],
        drw_epoch=0,
        batch_size=BATCH,
        diagnostic_per_class=2,
        heldout_per_class=2,
        tensorboard=False,
    )
    assert params["methods"]["mfw"]["mixing"]["name"] == "mfw"
    native, emulated, emulated_eval = (tmp_path / d for d in ("native", "emulated", "eval"))
    native.mkdir()
    write_params(native, params)
    run_cli("--params", "params.yaml", *split_args(), cwd=native, check=True)
    for folder in (emulated, emulated_eval):
        folder.mkdir()
        for name in ("params.yaml", "split.json"):
            shutil.copy(native / name, folder / name)
    train = ["--params", "params.yaml", *train_args(method="mfw")]
    evaluate = ["--params", "params.yaml", *evaluate_args()]

    emulated_train = _emulated(qemu, train, emulated)  # beside the native runs: 2 cores
    running = [emulated_train]
    try:
        env = _child_env()
        for args in (train, evaluate):
            proc = subprocess.run(
                [str(BIN / "procrustean"), *args],
                cwd=native,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert proc.returncode == 0, proc.stdout + proc.stderr
        shutil.copy(native / "model.pt", emulated_eval / "model.pt")
        emulated_evaluate = _emulated(qemu, evaluate, emulated_eval)
        running.append(emulated_evaluate)
        _finish(emulated_train, "training")
        _finish(emulated_evaluate, "evaluation")
    finally:  # a failure above leaves no emulated process behind
        for proc in running:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    python = str(Path(sys.executable).resolve())
    cpuid = {"native": _cpuid([python]), "emulated": _cpuid([qemu, "-cpu", EMULATED_CPU, python])}
    wall = time.monotonic() - started

    # where each side's training and evaluation wrote
    folders = {"native": (native, native), "emulated": (emulated, emulated_eval)}
    files = {
        side: {n: (ev if n == "metrics.json" else tr) / n for n in COMPARED}
        for side, (tr, ev) in folders.items()
    }
    records = {
        side: {"train": _record(tr, "history.json"), "evaluate": _record(ev, "metrics.json")}
        for side, (tr, ev) in folders.items()
    }
    hashes = {side: {n: _sha256(p) for n, p in paths.items()} for side, paths in files.items()}
    history = json.loads((native / "history.json").read_text())
    steps = len(history["epochs"]) * math.ceil(sum(history["class_counts"]) / BATCH)
    lines = [
        f"portable CPU mode: {steps} MFW training steps (1 epoch, batch {BATCH}) and an "
        f"evaluation on each side; wall {wall:.0f} s"
    ]
    for side in folders:
        rec, seen = records[side]["train"]["cpu"], cpuid[side]
        how = "this machine" if side == "native" else f"{QEMU} -cpu {EMULATED_CPU}"
        lines.append(
            f"{side} ({how}): record cpu_model {rec['cpu_model']!r}, aten_capability "
            f"{rec['aten_capability']} (train) "
            f"{records[side]['evaluate']['cpu']['aten_capability']} (evaluate), "
            f"mode {rec['mode']}"
        )
        lines.append(
            f"  CPUID: {seen['vendor']} {seen['brand']!r}, AVX2 {seen['avx2']}, FMA "
            f"{seen['fma']}, AVX-512F {seen['avx512f']}"
            if seen
            else "  CPUID: unreadable here"
        )
        lines += [f"  sha256 {name} {digest}" for name, digest in hashes[side].items()]
    report = "\n".join(lines)
    print("\n" + report)

    for side in records.values():
        for rec in side.values():
            assert rec["cpu"]["mode"] == "portable", report
            assert rec["cpu"]["pinned"] == cpu_mode.PORTABLE_ENV, report
            assert rec["cpu"]["aten_capability"] == "AVX2", report
    weakened = history["epochs"][0]["weakened_fraction"]
    assert max(weakened) > 0, weakened  # MFW mixed features in this run
    if cpuid["native"] and cpuid["emulated"]:  # the emulation really is another processor
        assert cpuid["native"]["brand"] != cpuid["emulated"]["brand"], report
        assert "Haswell" in cpuid["emulated"]["brand"] and cpuid["emulated"]["avx2"], report
    different = [n for n in COMPARED if hashes["native"][n] != hashes["emulated"][n]]
    assert not different, f"{different} differ\n{report}"
