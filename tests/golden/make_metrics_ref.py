#!/usr/bin/python3
"""make_metrics_ref.py: reference ROC AUC and average precision for tests/c/test_metrics.c.

scikit-learn is not installed on the build machine, so this script transcribes
its algorithms with numpy (sklearn/metrics/_ranking.py, versions 1.x):
  _binary_clf_curve   sort by score descending (stable), one threshold per
                      distinct score, cumulative tps / fps at each threshold
  roc_auc_score       trapezoidal area under (fpr, tpr) with (0, 0) prepended
  average_precision   -sum(diff(recall) * precision[:-1]) over the reversed
                      precision_recall_curve with (precision 1, recall 0) appended
and averages them one-vs-rest over the classes (macro). The C code computes
AUC differently (midrank Mann-Whitney U), so agreement checks the tie handling
of both. Scores are rounded to 0.1 (then stored as float32) so there are many
ties, inside and across classes. Class K-1 never occurs in the truth of the
second case, so it must be left out of both macro means.

Writes tests/c/metrics_ref.h. Run from anywhere (Debian python3-numpy):
    /usr/bin/python3 tests/golden/make_metrics_ref.py
The output is deterministic (fixed RandomState seeds).
"""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "c", "metrics_ref.h")


def binary_clf_curve(y, s):
    order = np.argsort(s, kind="mergesort")[::-1]
    s, y = s[order], y[order]
    distinct = np.where(np.diff(s))[0]
    idx = np.r_[distinct, y.size - 1]
    tps = np.cumsum(y)[idx]
    fps = 1 + idx - tps
    return fps.astype(np.float64), tps.astype(np.float64)


def roc_auc(y, s):
    fps, tps = binary_clf_curve(y, s)
    fpr = np.r_[0, fps] / fps[-1]
    tpr = np.r_[0, tps] / tps[-1]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def average_precision(y, s):
    fps, tps = binary_clf_curve(y, s)
    ps = tps + fps
    precision = np.where(ps != 0, tps / np.where(ps != 0, ps, 1), 0)
    recall = tps / tps[-1]
    precision = np.r_[precision[::-1], 1]
    recall = np.r_[recall[::-1], 0]
    return float(-np.sum(np.diff(recall) * precision[:-1]))


def case(name, n, K, seed, absent=None):
    rng = np.random.RandomState(seed)
    truth = rng.randint(0, K if absent is None else K - 1, size=n)
    logits = rng.randn(n, K) + 1.5 * np.eye(K)[truth]
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    probs = np.round(probs, 1).astype(np.float32)
    auc, ap = [], []
    for k in range(K):
        y = (truth == k).astype(np.int64)
        s = probs[:, k].astype(np.float64)
        auc.append(roc_auc(y, s) if 0 < y.sum() < n else float("nan"))
        ap.append(average_precision(y, s) if y.sum() > 0 else float("nan"))
    lines = [f"/* {name}: n = {n}, K = {K}, RandomState({seed}) */"]
    lines.append(f"static const int {name}_n = {n}, {name}_K = {K};")
    lines.append(f"static const int {name}_truth[{n}] = {{" + ", ".join(map(str, truth)) + "};")
    vals = ", ".join(f"{v:.1f}f" for v in probs.reshape(-1))
    lines.append(f"static const float {name}_probs[{n * K}] = {{{vals}}};")

    def arr(a):
        return ", ".join("NAN" if np.isnan(v) else repr(v) for v in a)

    lines.append(f"static const double {name}_auc[{K}] = {{{arr(auc)}}};")
    lines.append(f"static const double {name}_ap[{K}] = {{{arr(ap)}}};")
    lines.append(f"static const double {name}_auc_macro = {np.nanmean(auc)!r};")
    lines.append(f"static const double {name}_ap_macro = {np.nanmean(ap)!r};")
    return "\n".join(lines)


def main():
    body = [
        "/* metrics_ref.h: written by tests/golden/make_metrics_ref.py; do not edit. */",
        "#include <math.h>",
        case("ref_a", 60, 4, 1),
        case("ref_b", 90, 5, 2, absent=True),
    ]
    with open(OUT, "w") as f:
        f.write("\n".join(body) + "\n")


if __name__ == "__main__":
    main()
