#!/usr/bin/env python3
"""Assembly speed: `matterstack mbe analyze` against QCManyBody's `ManyBodyCore.analyze`.

Usage (from the repository root):
    python3 -m venv /tmp/qcmbvenv && /tmp/qcmbvenv/bin/pip install 'qcmanybody==0.8.*'
    cargo build --release -p matterstack
    /tmp/qcmbvenv/bin/python bench/mbe/analyze.py [target/release/matterstack]

Cases: 16 water fragments, max_nbody 3, vmfc; 20 water fragments, max_nbody 3, cp; energy driver,
plus the 16-fragment vmfc case with gradients. Component results are synthetic (a deterministic
function of the label, as in crates/mbe/tests/reference/gen_reference.py). The ManyBodyInput is
written by qcmanybody itself and read unchanged by matterstack.

Timings (best of REPEAT):
  qcmanybody  ManyBodyCore.analyze(results) in-process: no import, no JSON, no input parsing;
  matterstack the whole `mbe analyze IN --components C -o OUT` process: start-up, reading both
              JSON files, planning, assembly, writing the result JSON and the SVG.
The ratio is qcmanybody / matterstack (how many times faster the matterstack command is); the
in-process ratio uses the command's own total from `mbe analyze --timings` (reading both files,
enumerating, assembling, writing; process start excluded); the assemble-only ratio uses its
assembly time alone (the closest like-for-like comparison: qcmanybody's analyze excludes its
enumeration and all IO too). `BIN --version` is timed as well: the cost of starting a process.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import qcmanybody
from qcmanybody.models.v1 import ManyBodyInput
from qcmanybody.v1.computer import ManyBodyComputer

REPEAT = int(os.environ.get("REPEAT", "3"))
BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/matterstack"

WATER = [[0.0, 0.0, 0.0], [1.43, 0.0, 1.11], [-1.43, 0.0, 1.11]]


def fnv1a(text):
    h = 0xCBF29CE484222325
    for b in text.encode("utf-8"):
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def unit(text):
    return (fnv1a(text) >> 11) / float(1 << 53)


def cluster(n):
    """n waters on a 3D grid, 5.7 bohr apart (bohr)."""
    symbols, geom, frags = [], [], []
    side = int(np.ceil(n ** (1 / 3)))
    for i in range(n):
        off = [5.7 * (i % side), 5.7 * ((i // side) % side), 5.7 * (i // (side * side))]
        frags.append(list(range(len(symbols), len(symbols) + 3)))
        for s, p in zip("OHH", WATER):
            symbols.append(s)
            geom += [p[k] + off[k] + 0.011 * i * (k + 1) for k in range(3)]
    return {"symbols": symbols, "geometry": geom, "fragments": frags,
            "fragment_charges": [0.0] * n, "fragment_multiplicities": [1] * n, "molecular_charge": 0.0}


def synthetic(label, nat, driver):
    _, real, bas = json.loads(label)
    e = -76.0 * len(real) - 0.004 * (len(real) - 1) * (1 + unit(label + "|pair")) - 0.0007 * (len(bas) - len(real)) * unit(label + "|ghost")
    out = {"energy": e}
    if driver == "gradient":
        out["gradient"] = np.array([0.02 * (unit(f"{label}|g{i}") - 0.5) for i in range(3 * nat)]).reshape(nat, 3)
    return out


def case(nfr, bsse, driver, tmp):
    spec = {"driver": driver,
            "keywords": {"bsse_type": [bsse], "max_nbody": 3, "return_total_data": True},
            "specification": {"(auto)": {"program": "psi4", "model": {"method": "hf", "basis": "sto-3g"}, "driver": driver}}}
    input_json = ManyBodyInput(molecule=cluster(nfr), specification=spec).json()

    def core():
        return ManyBodyComputer.from_manybodyinput(ManyBodyInput.parse_raw(input_json), build_tasks=False).qcmb_core

    data = {label: synthetic(label, len(imol.symbols), driver) for _, label, imol in core().iterate_molecules()}
    py_times, res = [], None
    for _ in range(REPEAT):
        c = core()
        t0 = time.perf_counter()
        res = c.analyze(data)
        py_times.append(time.perf_counter() - t0)

    name = f"{nfr}fr-{bsse}-{driver}"
    inp = os.path.join(tmp, f"{name}.json")
    comps = os.path.join(tmp, f"{name}-components.json")
    out = os.path.join(tmp, f"{name}-result.json")
    with open(inp, "w") as fh:
        fh.write(input_json)
    with open(comps, "w") as fh:
        json.dump({k: {kk: (vv.tolist() if isinstance(vv, np.ndarray) else vv) for kk, vv in v.items()} for k, v in data.items()}, fh)
    rs_times, asm_times, plan_times, total_times = [], [], [], []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        p = subprocess.run([BIN, "mbe", "analyze", inp, "--components", comps, "-o", out, "--timings"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        rs_times.append(time.perf_counter() - t0)
        line = [l for l in p.stderr.splitlines() if l.startswith("timings (ms):")][-1]
        parts = dict(x.strip().rsplit(" ", 1) for x in line.split(":", 1)[1].replace("(", ",").split(",") if x.strip() and "components" not in x)
        asm_times.append(float(parts["assemble"]) / 1e3)
        plan_times.append(float(parts["plan"]) / 1e3)
        total_times.append(float(parts["total"]) / 1e3)
    with open(out) as fh:
        got = json.load(fh)
    dev = abs(got["ret_energy"] - float(res["ret_energy"]))
    bodies = max(abs(got["energy_body_dict"][k] - float(v)) for k, v in res["energy_body_dict"].items())
    gdev = 0.0
    if driver == "gradient":
        gdev = float(np.max(np.abs(np.array(got["ret_gradient"]) - np.asarray(res["ret_gradient"]).ravel())))
    py, rs, asm, pl, tot = min(py_times), min(rs_times), min(asm_times), min(plan_times), min(total_times)
    print(f"{name:<20} {len(data):>5} components  qcmanybody analyze {py*1e3:7.2f} ms | matterstack process {rs*1e3:6.2f} ms "
          f"(in-process {tot*1e3:5.2f}: plan {pl*1e3:5.3f}, assemble {asm*1e3:5.3f})  "
          f"ratio process {py/rs:5.1f}x, in-process {py/tot:5.1f}x, assemble-only {py/asm:6.1f}x  "
          f"|dE| ret {dev:.1e} body {bodies:.1e}" + (f" |dG| {gdev:.1e}" if driver == "gradient" else ""),
          flush=True)


def spawn_floor():
    """Best wall time of `BIN --version`: starting the process, nothing else."""
    times = []
    for _ in range(max(REPEAT, 10)):
        t0 = time.perf_counter()
        subprocess.run([BIN, "--version"], check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    print(f"qcmanybody {qcmanybody.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}; "
          f"matterstack {BIN}; best of {REPEAT}; {os.cpu_count()} cpus")
    print(f"process start alone (`{BIN} --version`): {spawn_floor()*1e3:.2f} ms", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        case(16, "vmfc", "energy", tmp)
        case(20, "cp", "energy", tmp)
        case(16, "vmfc", "gradient", tmp)


if __name__ == "__main__":
    main()
