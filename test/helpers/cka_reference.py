"""Independent CKA values for the experiments tests: reads {"pairs": [[x.npy, y.npy], ...],
"measures": ["linear", "rbf:0.4", "debiased"]} on stdin, prints one list of values per pair
(float64 numpy, the paper demo's formulas from test/fixtures/cka/make_cka_fixtures.py)."""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "cka"))
from make_cka_fixtures import cka, gram_linear, gram_rbf  # noqa: E402


def gram(x, measure):
    if measure.startswith("rbf:"):
        return gram_rbf(x, float(measure[4:]))
    return gram_linear(x)


def main():
    request = json.load(sys.stdin)
    grams = {}

    def gram_of(path, measure):
        # Each layer's kernel once (plain float64 numpy; the CKA arithmetic is the demo's).
        if (path, measure) not in grams:
            x = np.load(path).astype(np.float64)
            grams[(path, measure)] = gram(x.reshape(x.shape[0], -1), measure)
        return grams[(path, measure)]

    out = []
    for x_path, y_path in request["pairs"]:
        out.append(
            [cka(gram_of(x_path, m), gram_of(y_path, m), debiased=(m == "debiased")) for m in request["measures"]]
        )
    json.dump(out, sys.stdout)


main()
