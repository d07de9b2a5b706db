"""Demo report section: ECG dictionary adaptation across heart rates (seed 003).

Title for :data:`nlvision.report.SECTIONS`: ``"ECG monitoring: heart-rate dictionary adaptation"``
(builder ``nlvision.report.ecg:build``). Needs the ``[ecg]`` extra (neurokit2).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nlvision.atomic import savefig_atomic

TITLE = "ECG monitoring: heart-rate dictionary adaptation"


def build(out_dir: Path, quick: bool):
    """Build the section: beats at two heart rates, the learned F, adapted atoms, error and AUC of one user.

    Parameters
    ----------
    out_dir : Path
        Report folder (the PNG is written there).
    quick : bool
        Fewer synthetic users and beats (about 30-60 s on a shared 2-core VM).

    Returns
    -------
    Section
        Figure, table and summary numbers.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_auc_score

    from nlvision.report.base import Section, figure_html, html_table
    from nlvision.restoration.ecg import (
        HeartbeatDetector,
        TransformConfig,
        adapt_dictionary,
        learn_user_dictionary,
        reconstruction_error,
        resample_dictionary,
        simulate_beats,
        synthetic_user,
        transform_from_synthetic,
    )
    from nlvision.restoration.ecg.evaluate import single_thread_torch

    out_dir = Path(out_dir)
    r0, r1 = 60.0, 110.0
    n_users, n = (4, 40) if quick else (8, 60)
    res = transform_from_synthetic(n_users, r0, r1, beats=n, seed=0, config=TransformConfig(max_iter=15 if quick else 30))
    u = synthetic_user(987654)  # a user not used to learn F
    with single_thread_torch():
        b0 = simulate_beats(u, r0, n, seed=1).beats
        v0 = simulate_beats(u, r0, n, seed=2).beats
        b1 = simulate_beats(u, r1, n, seed=3).beats
        v1 = simulate_beats(u, r1, n, seed=4).beats
        test = simulate_beats(u, r1, n, seed=5, anomaly_fraction=0.2)
        D0 = learn_user_dictionary(b0, 12, rng=0)
        D1 = learn_user_dictionary(b1, 12, rng=0)
        dicts = {"(a) no adaptation": D0, "(b) learned F": adapt_dictionary(D0, res.F), "(c) oracle at r1": D1,
                 "(d) resampled atoms": resample_dictionary(D0, r0, r1)}
        det0 = HeartbeatDetector(D0).fit(v0)
        det1 = HeartbeatDetector(D1).fit(v1)
        normal_test = test.beats[test.labels == 0]
        rows = []
        for name, D in dicts.items():
            det = det1 if name.startswith("(c)") else det0.with_dictionary(D)
            rows.append([name, reconstruction_error(D, normal_test), roc_auc_score(test.labels, det.score(test.beats))])
    t = np.linspace(-0.2, 0.45, b0.shape[1])
    fig, ax = plt.subplots(1, 3, figsize=(14, 3.6))
    ax[0].plot(t, b0[:10].T, color="tab:blue", alpha=0.4)
    ax[0].plot(t, b1[:10].T, color="tab:red", alpha=0.4)
    ax[0].plot(t, test.beats[test.labels == 1][:3].T, color="k", lw=1)
    ax[0].set_title(f"beats at {r0:g} (blue), {r1:g} bpm (red), anomalies (black)", fontsize=9)
    ax[0].set_xlabel("s from R peak")
    im = ax[1].imshow(res.F, cmap="RdBu_r", vmin=-np.abs(res.F).max(), vmax=np.abs(res.F).max())
    ax[1].set_title(f"learned F ({n_users} synthetic users, {res.n_iter} alternations)", fontsize=9)
    fig.colorbar(im, ax=ax[1], fraction=0.046)
    k = int(np.argmax(np.abs(D0).max(0)))
    for name, D in dicts.items():
        ax[2].plot(t, D[:, k] * np.sign(D[np.argmax(np.abs(D[:, k])), k]), label=name)
    ax[2].set_title("one atom, adapted", fontsize=9)
    ax[2].legend(fontsize=7)
    fig.tight_layout()
    savefig_atomic(fig, out_dir / "ecg_adaptation.png", dpi=90)
    plt.close(fig)
    body = (
        "<p>Seed 003, 'Domain adaptation for online ECG monitoring': a user's dictionary learned at 60 bpm is adapted "
        "to 110 bpm with D<sub>u,r1</sub> = F D<sub>u,r0</sub>, F learned across other users by the weighted elastic net. "
        "Synthetic ECG (neurokit2's ECGSYN), one held-out user with planted anomalous beats; "
        "benchmarks/results/ecg.md has several seeds and users with 95 % CIs.</p>"
        + html_table(["dictionary", "relative reconstruction error at r1", "anomaly AUC at r1"], rows, floatfmt="{:.3f}")
        + figure_html("ecg_adaptation.png", "Heartbeats at two heart rates, the learned transformation, adapted atoms")
    )
    summary = {r[0]: {"error": round(r[1], 4), "auc": round(r[2], 3)} for r in rows}
    return Section(title=TITLE, html=body, figures=["ecg_adaptation.png"], summary=summary)
