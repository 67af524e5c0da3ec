"""matterstack's PySCF driver for one many-body component (shipped inside the matterstack binary).

    python pyscf_driver.py input.json   computes the component; writes result.json
    python pyscf_driver.py --check      reads [{"model", "xc", "basis", "elements"}] on stdin;
                                        prints {"pyscf": version, "problems": [{"model", "field",
                                        "value", "element"?}]} or {"import_error": "..."}

input.json (written by matterstack, schema "matterstack-pyscf-component-v1"):
    symbols      element symbols, ghost atoms included
    geometry     flat x, y, z per atom in BOHR (QCSchema units)
    real         per atom: true = real atom, false = ghost (basis functions, no nucleus, no electrons)
    charge, multiplicity
    method       "hf", "mp2" or "dft" (then "xc" names the functional)
    basis, cart  basis set name; cartesian (true) or spherical (false) d/f functions
    reference    "rhf" or "uhf"
    driver       "energy", "gradient" or "hessian"
    conv_tol, max_cycle

result.json: {"energy": Eh, "gradient": [3N, Eh/bohr] (driver gradient), "hessian": [3N*3N, Eh/bohr^2]
(driver hessian),
"program": "pyscf", "program_version": ...}, atoms in input order (ghosts included), numbers at full
double precision (Python's shortest round-trip repr). Written atomically, only on success; any failure
exits non-zero with the reason on stderr.
"""

import json
import os
import sys


def ghost(symbol):
    return "GHOST-" + symbol


def build(inp):
    from pyscf import gto

    atoms = []
    for i, sym in enumerate(inp["symbols"]):
        xyz = inp["geometry"][3 * i:3 * i + 3]
        atoms.append((sym if inp["real"][i] else ghost(sym), tuple(float(x) for x in xyz)))
    return gto.M(
        atom=atoms,
        unit="Bohr",
        basis=inp["basis"],
        cart=bool(inp["cart"]),
        charge=int(inp["charge"]),
        spin=int(inp["multiplicity"]) - 1,
        symmetry=False,
        verbose=0,
    )


def scf_of(mol, inp):
    from pyscf import dft, scf

    unrestricted = inp["reference"] == "uhf"
    if inp["method"] == "dft":
        mf = dft.UKS(mol) if unrestricted else dft.RKS(mol)
        mf.xc = inp["xc"]
    else:
        mf = scf.UHF(mol) if unrestricted else scf.RHF(mol)
    mf.conv_tol = float(inp["conv_tol"])
    mf.conv_tol_grad = float(inp["conv_tol"]) ** 0.5 * 1e-2
    mf.max_cycle = int(inp["max_cycle"])
    mf.chkfile = None
    mf.kernel()
    if not mf.converged:
        sys.exit("pyscf: SCF did not converge in %d cycles (conv_tol %g)" % (mf.max_cycle, mf.conv_tol))
    return mf


def flat(array):
    return [float(x) for x in array.ravel()]


def compute(inp):
    import pyscf
    from pyscf import lib

    lib.param.TMPDIR = os.getcwd()
    mol = build(inp)
    mf = scf_of(mol, inp)
    driver = inp["driver"]
    out = {"program": "pyscf", "program_version": pyscf.__version__}
    if inp["method"] == "mp2":
        from pyscf import mp

        post = mp.MP2(mf)
        post.kernel()
        out["energy"] = float(post.e_tot)
        if driver == "gradient":
            out["gradient"] = flat(post.nuc_grad_method().kernel())
    else:
        out["energy"] = float(mf.e_tot)
        if driver == "gradient":
            out["gradient"] = flat(mf.nuc_grad_method().kernel())
    if driver == "hessian":
        n = mol.natm
        h = mf.Hessian().kernel()  # (atom i, atom j, 3, 3)
        out["hessian"] = flat(h.transpose(0, 2, 1, 3).reshape(3 * n, 3 * n))
    return out


def check(models):
    try:
        import pyscf
        from pyscf import gto
        from pyscf.dft import libxc
    except Exception as e:  # ImportError, or a broken installation
        return {"import_error": "%s: %s" % (type(e).__name__, e)}
    problems = []
    for m in models:
        if m.get("xc"):
            try:
                libxc.parse_xc(m["xc"])
            except Exception:
                problems.append({"model": m["model"], "field": "method", "value": m["xc"]})
        for el in m["elements"]:
            try:
                known = bool(gto.basis.load(m["basis"], el))
            except Exception:
                known = False
            if not known:
                problems.append({"model": m["model"], "field": "basis", "value": m["basis"], "element": el})
                break
    return {"pyscf": pyscf.__version__, "problems": problems}


def main(argv):
    if argv[1:] == ["--check"]:
        import warnings

        warnings.simplefilter("ignore")
        json.dump(check(json.load(sys.stdin)), sys.stdout)
        return
    if len(argv) != 2:
        sys.exit("usage: pyscf_driver.py input.json | --check")
    with open(argv[1]) as fh:
        inp = json.load(fh)
    out = compute(inp)
    with open("result.json.tmp", "w") as fh:
        json.dump(out, fh)
    os.replace("result.json.tmp", "result.json")


if __name__ == "__main__":
    main(sys.argv)
