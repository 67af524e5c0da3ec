#!/usr/bin/env python3
# Reference vectors for matterstack-mbe, generated with MolSSI QCManyBody.
#
#   qcmanybody 0.8.0 (qcelemental 0.51.4, numpy 2.4.6, pydantic 2.14.3, zstandard 0.25.0), CPython 3.11.7
#   (zstandard only reads the real psi4 water-trimer component data shipped in qcmanybody's tests)
#   python3 -m venv /tmp/qcmbvenv && /tmp/qcmbvenv/bin/pip install 'qcmanybody==0.8.*' zstandard
#   /tmp/qcmbvenv/bin/python crates/mbe/tests/reference/gen_reference.py
#
# The script writes cases_*.json next to itself. Each case holds:
#   input_json   the ManyBodyInput exactly as `qcmanybody.models.v1.ManyBodyInput(...).json()` writes it
#   components   label -> the charge, multiplicity and real-atom mask ("1" real, "0" ghost) that
#                qcmanybody gives the component molecule, and its synthetic energy; gradients and
#                hessians are stored as their exact sums only (the Rust test recomputes the arrays
#                with the same formula, see `synthetic`, and checks the sums). The real_h2o_trimer
#                cases store real psi4 component results in full.
#   expected     what ManyBodyCore.analyze returned (results, body dicts, ret_*, stdout) and the
#                ManyBodyResult properties that ManyBodyComputer.get_results adds
# It also writes fsum_cases.json: 200 float lists and CPython's math.fsum of each.
# Synthetic component values are a deterministic function of the label (FNV-1a hash), and keys
# are written sorted (qcmanybody's set/dict order varies with PYTHONHASHSEED), so rerunning the
# script reproduces the files byte for byte.
# Note: CPython >= 3.12 sums floats with compensated summation in `sum()`; the committed vectors
# come from 3.11 (plain left-to-right sums), which is what the Rust assembly mirrors.

import itertools
import json
import math
import os
import sys

import numpy as np
import qcmanybody
from qcmanybody.models.v1 import ManyBodyInput
from qcmanybody.v1.computer import ManyBodyComputer

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------- fragments (bohr)
# name: (symbols, local xyz in bohr, charge, multiplicity)
FRAGS = {
    "he": (["He"], [[0.0, 0.0, 0.0]], 0, 1),
    "li+": (["Li"], [[0.0, 0.0, 0.0]], 1, 1),
    "h": (["H"], [[0.0, 0.0, 0.0]], 0, 2),
    "ne": (["Ne"], [[0.0, 0.0, 0.0]], 0, 1),
    "oh-": (["O", "H"], [[0.0, 0.0, 0.0], [0.0, 0.0, 1.83]], -1, 1),
    "h2o": (["O", "H", "H"], [[0.0, 0.0, 0.0], [1.43, 0.0, 1.11], [-1.43, 0.0, 1.11]], 0, 1),
    "ch3": (["C", "H", "H", "H"], [[0.0, 0.0, 0.0], [2.04, 0.0, 0.0], [-1.02, 1.77, 0.0], [-1.02, -1.77, 0.0]], 0, 2),
}
OFFSETS = [[0.0, 0.0, 0.0], [5.6, 0.3, 0.0], [0.2, 5.9, 0.4], [5.1, 5.7, -0.6], [2.7, 2.9, 5.3], [-2.8, 3.1, -4.9]]


def molecule(names):
    symbols, geom, fragments, chg, mult = [], [], [], [], []
    for i, n in enumerate(names):
        s, xyz, q, m = FRAGS[n]
        start = len(symbols)
        symbols += s
        for p in xyz:
            geom += [p[k] + OFFSETS[i][k] + 0.013 * i * (k + 1) for k in range(3)]
        fragments.append(list(range(start, start + len(s))))
        chg.append(q)
        mult.append(m)
    return {
        "symbols": symbols,
        "geometry": geom,
        "fragments": fragments,
        "fragment_charges": chg,
        "fragment_multiplicities": mult,
        "molecular_charge": float(sum(chg)),
    }


# ---------------------------------------------------------------- synthetic component data
def fnv1a(text):
    h = 0xCBF29CE484222325
    for b in text.encode("utf-8"):
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def unit(text):
    """Deterministic number in [0, 1) from a string (53 bits of FNV-1a)."""
    return (fnv1a(text) >> 11) / float(1 << 53)


FRAG_E = {1: -2.86, 2: -7.27, 3: -0.50, 4: -128.5, 5: -75.4, 6: -76.0, 7: -39.7}


def synthetic(label, nat_basis, driver):
    mc, real, bas = json.loads(label)
    ghost = [f for f in bas if f not in real]
    e = math.fsum(FRAG_E[((f * 3) % 7) + 1] for f in real)
    e += -0.004 * (len(real) - 1) * (1.0 + unit(label + "|pair"))
    e += -0.0007 * len(ghost) * unit(label + "|ghost")
    e += -0.01 * unit(mc)  # model-chemistry shift
    out = {"energy": e}
    if driver in ("gradient", "hessian"):
        g = np.array([0.02 * (unit(f"{label}|g{i}") - 0.5) for i in range(3 * nat_basis)]).reshape(nat_basis, 3)
        out["gradient"] = g
    if driver == "hessian":
        n3 = 3 * nat_basis
        a = np.array([0.3 * (unit(f"{label}|h{i}") - 0.5) for i in range(n3 * n3)]).reshape(n3, n3)
        out["hessian"] = 0.5 * (a + a.T)
    return out


# ---------------------------------------------------------------- running qcmanybody
def tolist(x):
    if isinstance(x, np.ndarray):
        return [float(v) for v in x.ravel()]
    if isinstance(x, (float, int, np.floating, np.integer)):
        return float(x)
    raise TypeError(type(x))


def run_case(name, frags, driver, keywords, specs, real_data=None):
    """One case. `frags` names synthetic fragments (or is a molecule dict); `real_data`, when
    given, maps labels to real component results (stored in full instead of recomputed)."""
    mol = molecule(frags) if isinstance(frags, list) else frags
    spec = {"driver": driver, "keywords": keywords, "specification": specs}
    inp = ManyBodyInput(molecule=mol, specification=spec)
    input_json = inp.json()
    # what a user passing the JSON gets
    parsed = ManyBodyInput.parse_raw(input_json)
    comp = ManyBodyComputer.from_manybodyinput(parsed, build_tasks=False)
    core = comp.qcmb_core

    components = {}
    data = {}
    for mc, label, imol in core.iterate_molecules():
        nat = len(imol.symbols)
        if real_data is None:
            vals = synthetic(label, nat, driver)
        else:
            vals = {k: v for k, v in real_data[label].items() if k == "energy" or driver != "energy"}
        data[label] = vals
        entry = {
            "molecular_charge": float(imol.molecular_charge),
            "molecular_multiplicity": int(imol.molecular_multiplicity),
            "real": "".join("1" if r else "0" for r in imol.real),  # per atom: 1 real, 0 ghost
            "energy": vals["energy"],
        }
        # gradients/hessians are recomputed by the Rust test from the same formula; their exact
        # sums are stored so the test can prove it reproduces them
        if real_data is not None:
            for k in ("gradient", "hessian"):
                if k in vals:
                    entry[k] = tolist(np.asarray(vals[k]))
        elif "gradient" in vals:
            entry["gradient_fsum"] = math.fsum(vals["gradient"].ravel())
        if real_data is None and "hessian" in vals:
            entry["hessian_fsum"] = math.fsum(vals["hessian"].ravel())
        components[label] = entry

    res = core.analyze(data)

    expected = {
        "ret_energy": tolist(res["ret_energy"]),
        "energy_body_dict": {k: tolist(v) for k, v in res["energy_body_dict"].items()},
        "results": {k: tolist(v) for k, v in res["results"].items()},
        "stdout": res["stdout"],
    }
    for p in ("gradient", "hessian"):
        if f"ret_{p}" in res:
            expected[f"ret_{p}"] = tolist(res[f"ret_{p}"])
            expected[f"{p}_body_dict"] = {
                str(bt): {str(n): tolist(v) for n, v in d.items()} for bt, d in res[f"{p}_body_dict"].items()
            }
    props = {
        "calcinfo_nmc": len(comp.nbodies_per_mc_level),
        "calcinfo_nfr": comp.nfragments,
        "calcinfo_natom": len(comp.molecule.symbols),
        "calcinfo_nmbe": len(data),
        "nuclear_repulsion_energy": comp.molecule.nuclear_repulsion_energy(),
        "return_energy": tolist(res["ret_energy"]),
    }
    # (with no component at all -- cp only, rtd=False, max_nbody=1 -- qcmanybody returns no
    #  gradient/hessian and its get_results would fail; such cases carry energies only)
    if driver == "gradient" and "ret_gradient" in res:
        props["return_gradient"] = tolist(res["ret_gradient"])
    elif driver == "hessian":
        if "ret_gradient" in res:
            props["return_gradient"] = tolist(res["ret_gradient"])
        if "ret_hessian" in res:
            props["return_hessian"] = tolist(res["ret_hessian"])
    expected["properties"] = props
    expected["bsse_type"] = [str(b.value) for b in core.bsse_type]
    return {"name": name, "input_json": input_json, "components": components, "expected": expected}


def psi4(method="mp2", basis="cc-pvdz"):
    return {"program": "psi4", "model": {"method": method, "basis": basis}, "driver": "energy"}


SINGLE = {"(auto)": psi4()}
BSSE_SETS = [["nocp"], ["cp"], ["vmfc"], ["cp", "nocp", "vmfc"], ["vmfc", "cp"]]
MOLS = {
    2: ["h2o", "li+"],
    3: ["he", "oh-", "h2o"],
    4: ["he", "li+", "h", "ne"],
    5: ["he", "oh-", "li+", "h", "ne"],
    6: ["h", "he", "li+", "ne", "oh-", "h2o"],
}
SMALL = {2: ["he", "oh-"], 3: ["he", "li+", "h"], 4: ["he", "li+", "h", "ne"]}


def energy_cases():
    out = []
    for nfr, frags in MOLS.items():
        nbs = range(1, nfr + 1) if nfr <= 4 else [1, 2, nfr] if nfr == 5 else [2, nfr]
        for mx in nbs:
            for bsse in BSSE_SETS if nfr <= 5 else [["nocp"], ["cp", "nocp", "vmfc"]]:
                for rtd in (False, True):
                    kw = {"bsse_type": bsse, "max_nbody": mx, "return_total_data": rtd}
                    out.append(run_case(f"e-{nfr}fr-mx{mx}-{'+'.join(bsse)}-rtd{int(rtd)}", frags, "energy", kw, SINGLE))
    # keyword spellings: single string, aliases, defaults (bsse cp, max_nbody nfr, rtd False)
    out.append(run_case("e-3fr-defaults", MOLS[3], "energy", {}, SINGLE))
    out.append(run_case("e-3fr-string-ssfc", MOLS[3], "energy", {"bsse_type": "ssfc"}, SINGLE))
    out.append(run_case("e-3fr-alias-mbe", MOLS[3], "energy", {"bsse_type": ["MBE", "vmfc"], "max_nbody": 2}, SINGLE))
    # supersystem_ie_only
    for nfr in (2, 3, 4):
        for bsse in (["cp"], ["nocp"], ["nocp", "cp"]):
            for rtd in (False, True):
                kw = {"bsse_type": bsse, "supersystem_ie_only": True, "return_total_data": rtd}
                out.append(run_case(f"e-sio-{nfr}fr-{'+'.join(bsse)}-rtd{int(rtd)}", MOLS[nfr], "energy", kw, SINGLE))
    return out


def multilevel_specs(labels):
    methods = ["ccsd(t)", "mp2", "hf", "b3lyp"]
    return {lab: psi4(methods[i % 4], "cc-pvdz" if i % 2 == 0 else "def2-svp") for i, lab in enumerate(labels)}


ML_LEVELS = [
    ({1: "hi", 2: "lo"}, 3),
    ({2: "hi", 3: "lo"}, 3),
    ({1: "hi", 3: "lo"}, 4),
    ({1: "hi", 2: "mid", 3: "lo"}, 4),
    ({2: "hi", 4: "lo"}, 4),
    ({1: "hi", 2: "lo", "supersystem": "ss"}, 4),
    ({2: "hi", "supersystem": "ss"}, 3),
    ({1: "hi", "supersystem": "ss"}, 3),
    ({1: "hi", "supersystem": "ss"}, 2),
    ({3: "hi", "supersystem": "ss"}, 5),
]


def multilevel_cases(driver, frags_by_n, bsse_sets, rtds):
    out = []
    for levels, nfr in ML_LEVELS:
        if nfr not in frags_by_n:
            continue
        labels = list(dict.fromkeys(levels.values()))
        for bsse in bsse_sets:
            for rtd in rtds:
                kw = {"bsse_type": bsse, "levels": levels, "return_total_data": rtd}
                lv = "_".join(f"{k}{v}" for k, v in levels.items())
                out.append(
                    run_case(
                        f"{driver[0]}-ml-{nfr}fr-{lv}-{'+'.join(bsse)}-rtd{int(rtd)}",
                        frags_by_n[nfr],
                        driver,
                        kw,
                        multilevel_specs(labels),
                    )
                )
    if driver == "energy":
        # max_nbody contradicting levels: QCManyBody replaces levels by {max_nbody: "(auto)"}
        specs = multilevel_specs(["hi", "lo"])
        specs["(auto)"] = psi4("hf", "sto-3g")
        kw = {"bsse_type": ["cp", "nocp"], "levels": {1: "hi", 2: "lo"}, "max_nbody": 3}
        out.append(run_case("e-ml-levels-overridden-by-max_nbody", frags_by_n[4], driver, kw, specs))
    return out


def gradient_cases():
    out = []
    for nfr, frags in SMALL.items():
        for mx in range(1, nfr + 1):
            for bsse in BSSE_SETS[:4]:
                for rtd in (False, True):
                    kw = {"bsse_type": bsse, "max_nbody": mx, "return_total_data": rtd}
                    out.append(run_case(f"g-{nfr}fr-mx{mx}-{'+'.join(bsse)}-rtd{int(rtd)}", frags, "gradient", kw, SINGLE))
    out.append(run_case("g-3fr-h2o-mixed", ["h2o", "oh-", "ch3"], "gradient", {"bsse_type": ["cp", "nocp", "vmfc"]}, SINGLE))
    for bsse in (["cp"], ["nocp", "cp"]):
        kw = {"bsse_type": bsse, "supersystem_ie_only": True}
        out.append(run_case(f"g-sio-3fr-{'+'.join(bsse)}", SMALL[3], "gradient", kw, SINGLE))
    return out


def hessian_cases():
    out = []
    for nfr, frags in SMALL.items():
        if nfr == 4:
            continue
        for mx in range(1, nfr + 1):
            for bsse in (["cp", "nocp", "vmfc"], ["cp"]):
                for rtd in (False, True):
                    kw = {"bsse_type": bsse, "max_nbody": mx, "return_total_data": rtd}
                    out.append(run_case(f"h-{nfr}fr-mx{mx}-{'+'.join(bsse)}-rtd{int(rtd)}", frags, "hessian", kw, SINGLE))
    for mx in (2, 4):
        kw = {"bsse_type": ["vmfc", "nocp", "cp"], "max_nbody": mx, "return_total_data": True}
        out.append(run_case(f"h-4fr-mx{mx}-vmfc+nocp+cp-rtd1", SMALL[4], "hessian", kw, SINGLE))
    out.append(run_case("h-2fr-h2o-oh-", ["h2o", "oh-"], "hessian", {"bsse_type": ["cp", "nocp"]}, SINGLE))
    out.append(run_case("h-sio-3fr-cp", SMALL[3], "hessian", {"bsse_type": "cp", "supersystem_ie_only": True}, SINGLE))
    return out


def real_cases():
    """Real psi4 component results for the water trimer shipped with qcmanybody's own tests
    (qcmanybody/tests/component_data, BSD-3-Clause, MolSSI): gradients and energies."""
    from qcmanybody.tests.common import mol_h2o_3
    from qcmanybody.tests.utils import load_component_data

    mol = {k: v for k, v in json.loads(mol_h2o_3.model_dump_json()).items() if k in ("symbols", "geometry", "fragments", "fragment_charges", "fragment_multiplicities", "molecular_charge", "molecular_multiplicity")}
    specs = {
        "g_scf": psi4("hf", "sto-3g"),
        "g_mp2": psi4("mp2", "sto-3g"),
        "g_b3lyp": psi4("b3lyp", "sto-3g"),
    }
    sets = [
        ({1: "g_scf", 2: "g_scf", 3: "g_scf"}, "h2o_trimer_single_gradient_1"),
        ({1: "g_scf", 2: "g_scf"}, "h2o_trimer_single_gradient_2"),
        ({1: "g_mp2", 2: "g_b3lyp", 3: "g_scf"}, "h2o_trimer_multi_gradient_1"),
        ({1: "g_mp2", 2: "g_b3lyp"}, "h2o_trimer_multi_gradient_2"),
        ({1: "g_mp2", 2: "g_b3lyp", "supersystem": "g_scf"}, "h2o_trimer_multi_ss_gradient_1"),
        ({1: "g_mp2", "supersystem": "g_scf"}, "h2o_trimer_multi_ss_gradient_2"),
    ]
    out = []
    for levels, fname in sets:
        data = load_component_data(fname)
        # qcmanybody's own tests collapse single-level {1: x, 2: x} to one label
        lv = {max(k for k in levels if k != "supersystem"): levels[1]} if len(set(levels.values())) == 1 else levels
        used = {k: v for k, v in specs.items() if k in lv.values()}
        kw = {"bsse_type": ["cp", "nocp", "vmfc"], "levels": lv, "return_total_data": True}
        out.append(run_case(f"real-g-{fname}", mol, "gradient", kw, used, real_data=data))
        kw = {"bsse_type": ["nocp", "cp", "vmfc"], "levels": lv, "return_total_data": False}
        out.append(run_case(f"real-e-{fname}", mol, "energy", kw, used, real_data=data))
    return out


def fsum_cases():
    """Lists of floats (wide exponent range, heavy cancellation, half-way ties) and CPython's
    math.fsum of each, to check the Rust fsum bit for bit."""
    import random

    rng = random.Random(20240611)
    cases = []
    for i in range(200):
        n = rng.randint(0, 40)
        kind = i % 4
        if kind == 0:
            xs = [rng.uniform(-1, 1) * 10.0 ** rng.randint(-20, 20) for _ in range(n)]
        elif kind == 1:  # cancelling pairs plus a little noise
            xs = []
            for _ in range(n // 2):
                x = rng.uniform(-1e3, 1e3)
                xs += [x, -x * (1 + rng.choice([0.0, 2.0**-52, -(2.0**-52)]))]
        elif kind == 2:  # half-way cases
            xs = [2.0 ** rng.randint(40, 60), rng.choice([1.0, -1.0]) * 2.0 ** rng.randint(-20, 0), 2.0 ** rng.randint(-80, -60)]
            rng.shuffle(xs)
        else:  # total-energy-like magnitudes
            xs = [rng.uniform(-230.0, -70.0) for _ in range(n)] + [rng.uniform(70.0, 230.0) for _ in range(n)]
        cases.append({"values": xs, "fsum": math.fsum(xs)})
    return cases


def main():
    groups = {
        "energy": energy_cases(),
        "multilevel_energy": multilevel_cases(
            "energy", {2: MOLS[2], 3: MOLS[3], 4: MOLS[4], 5: MOLS[5]}, [["nocp"], ["cp"], ["vmfc"], ["cp", "nocp", "vmfc"]], (False, True)
        ),
        "gradient": gradient_cases(),
        "multilevel_gradient": multilevel_cases(
            "gradient", {2: SMALL[2], 3: SMALL[3], 4: SMALL[4]}, [["cp", "nocp", "vmfc"], ["nocp"]], (False, True)
        ),
        "hessian": hessian_cases(),
        "multilevel_hessian": multilevel_cases("hessian", {3: SMALL[3]}, [["cp", "nocp", "vmfc"]], (True,)),
        "real_h2o_trimer": real_cases(),
    }
    meta = {
        "qcmanybody": qcmanybody.__version__,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
    }
    with open(os.path.join(HERE, "fsum_cases.json"), "w") as fh:
        json.dump({"meta": meta, "cases": fsum_cases()}, fh, separators=(",", ":"), sort_keys=True)
    for name, cases in groups.items():
        path = os.path.join(HERE, f"cases_{name}.json")
        with open(path, "w") as fh:
            json.dump({"meta": meta, "cases": cases}, fh, separators=(",", ":"), sort_keys=True)
        print(f"{path}: {len(cases)} cases, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
