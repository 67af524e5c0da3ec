#!/usr/bin/env python3
"""Stand-in for an expensive calculation: the band gap (eV) of A(1-x)B(x).

A bowing-model gap with a cubic term, Eg(x) = 3.4 (1-x) + 0.7 x - 2.9 x (1-x)
+ 1.1 x^3 (1-x) (so the planner's quadratic surrogate needs a few rounds), plus a small
deterministic "noise" term. Writes results.json for matterstack.
"""
import json
import math
import sys

x = float(sys.argv[1])
gap = 3.4 * (1 - x) + 0.7 * x - 2.9 * x * (1 - x) + 1.1 * x**3 * (1 - x) + 0.004 * math.sin(40 * x)
json.dump({"x": x, "gap_ev": round(gap, 6)}, open("results.json", "w"))
print("x = %.4f  gap = %.4f eV" % (x, gap))
