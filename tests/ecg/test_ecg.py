"""ECG monitoring (issue 21, part 2): WFDB records in PhysioNet's layout, beats, adaptation, detection, CLI.

Independent references: format-212 bytes decoded by hand (PhysioNet's signal(5) layout), header
fields read as text, hand-made R peaks and bumps, a planted banded transformation, closed forms.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from nlvision.cli import main
from nlvision.restoration.ecg import (
    HeartbeatDetector,
    TransformConfig,
    adapt_dictionary,
    learn_transform,
    locality_weights,
    read_record,
    resample_dictionary,
    segment_beats,
    simulate_record,
    synthetic_user,
    transform_objective,
    write_record,
)
from nlvision._extras import require_extra

pytest.importorskip("wfdb")
pytest.importorskip("neurokit2")


def _decode_212(raw: bytes, n_sig: int) -> np.ndarray:
    """PhysioNet format 212: two 12-bit two's-complement samples in three bytes."""
    b = np.frombuffer(raw, dtype=np.uint8).astype(np.int32)
    b = b[: len(b) // 3 * 3].reshape(-1, 3)
    s0 = b[:, 0] | ((b[:, 1] & 0x0F) << 8)
    s1 = b[:, 2] | ((b[:, 1] & 0xF0) << 4)
    out = np.stack([s0, s1], axis=1).reshape(-1)
    out[out > 2047] -= 4096
    return out.reshape(-1, n_sig)


def test_mitbih_layout_fixture_is_read(tmp_path):
    fs = 360
    t = np.arange(3 * fs) / fs
    sig = np.stack([np.sin(2 * np.pi * t), 0.5 * np.cos(2 * np.pi * t)], axis=1)
    write_record(tmp_path / "100", sig, fs, [180, 540, 900], ["N", "V", "N"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["100.atr", "100.dat", "100.hea"]
    header = (tmp_path / "100.hea").read_text().splitlines()
    assert header[0].split()[:4] == ["100", "2", "360", str(3 * fs)]
    fields = header[1].split()
    assert fields[0] == "100.dat" and fields[1] == "212" and fields[2].startswith("200") and fields[-1] == "MLII"
    assert header[2].split()[-1] == "V5"
    digital = _decode_212((tmp_path / "100.dat").read_bytes(), 2)[: 3 * fs]
    np.testing.assert_array_equal(digital, np.round(sig * 200 + 1024).astype(int))
    rec = read_record(tmp_path / "100.hea")
    assert rec.fs == 360.0 and rec.lead == "MLII"
    np.testing.assert_allclose(rec.signal, sig[:, 0], atol=0.5 / 200 + 1e-9)
    assert rec.beat_samples.tolist() == [180, 540, 900]
    assert rec.beat_symbols.tolist() == ["N", "V", "N"]
    assert read_record(tmp_path / "100", channel=1).lead == "V5"


def test_ltst_layout_three_leads_and_non_beat_labels(tmp_path):
    import wfdb

    fs = 250
    sig = np.zeros((5 * fs, 3))
    write_record(tmp_path / "s30661", sig, fs, sig_names=["ML2", "MV2", "MV4"])
    wfdb.wrann("s30661", "atr", np.array([100, 200, 300, 400]), symbol=["+", "N", "~", "V"], fs=fs, write_dir=str(tmp_path))
    rec = read_record(tmp_path / "s30661", channel=2)
    assert rec.fs == 250.0 and rec.lead == "MV4"
    assert rec.beat_symbols.tolist() == ["N", "V"]  # rhythm '+' and quality '~' are not beats
    assert rec.beat_samples.tolist() == [200, 400]


def test_record_without_annotations_is_refused(tmp_path):
    write_record(tmp_path / "101", np.zeros((1000, 2)), 360)
    with pytest.raises(ValueError, match="no annotation file 101.atr"):
        read_record(tmp_path / "101")
    assert read_record(tmp_path / "101", require_annotations=False).beat_samples.size == 0
    with pytest.raises(OSError, match="no WFDB header"):
        read_record(tmp_path / "missing")


def test_segment_beats_hand_case():
    fs, m = 250, 66
    t = np.arange(10 * fs) / fs
    peaks = np.arange(fs // 2, 10 * fs, fs)
    sig = np.zeros_like(t)
    sig[peaks] = 1.0
    b = segment_beats(sig, fs, peaks, before=0.2, after=0.45, length=m)
    # the window [-50, +112] samples is mapped on m points: the R peak sits at 50 / (162 / 65) = 20.06
    assert b.beats.shape == (10, m)  # every window (the last ends at 2375 + 112 < 2500) fits
    assert np.all(np.argmax(b.beats, axis=1) == 20)
    np.testing.assert_allclose(b.heart_rate, 60.0)
    with pytest.raises(ValueError, match="too short for one beat"):
        segment_beats(sig[:100], fs, [50])
    assert segment_beats(sig, fs, peaks[:2], before=0.6, after=0.45).r_peaks.tolist() == [375]  # 125 - 150 < 0: dropped


def test_locality_weights_and_resampling():
    W = locality_weights(9, 2.0)
    assert W[4, 4] == pytest.approx(0.01)
    assert W[0, 8] > W[0, 2] > W[0, 1] > W[0, 0]
    tt = np.linspace(-0.2, 0.45, 131)
    atom = np.exp(-((tt - 0.3) ** 2) / (2 * 0.01**2))[:, None]
    out = resample_dictionary(atom, 60, 240, exponent=0.5)  # scale sqrt(60/240) = 0.5
    assert tt[np.argmax(out[:, 0])] == pytest.approx(0.15, abs=0.006)


def test_learn_transform_recovers_a_planted_local_map():
    rng = np.random.default_rng(0)
    m, n = 16, 8
    F_true = 0.7 * np.eye(m) + 0.3 * np.eye(m, k=-1)  # a local (banded) map
    Ds, Ss = [], []
    for _ in range(5):
        D = rng.standard_normal((m, n))
        D /= np.linalg.norm(D, axis=0)
        X = rng.standard_normal((60, n)) * (rng.random((60, n)) < 0.3)
        Ds.append(D)
        Ss.append(X @ (F_true @ D).T)
    cfg = TransformConfig(mu=0.01, lam=0.01, xi=0.001, max_iter=40, tol=1e-6)
    res = learn_transform(Ds, Ss, cfg)
    assert np.all(np.diff(res.objective) <= 1e-9 * abs(res.objective[0]))  # never increases
    err_id = sum(np.sum((S - S @ np.linalg.pinv(D).T @ D.T) ** 2) for D, S in zip(Ds, Ss))
    assert res.objective[-1] < 0.2 * err_id
    # F is identifiable up to scale (F D X = (cF) D (X / c)); its direction is the planted one
    cos = lambda a, b: float(np.sum(a * b) / np.linalg.norm(a) / np.linalg.norm(b))  # noqa: E731
    assert cos(res.F, F_true) > 0.99 > cos(np.eye(m), F_true) + 0.05
    # the objective reported is the slides' objective at (F, X)
    assert transform_objective(np.eye(m), Ds, Ss, [np.zeros((60, n))] * 5, cfg) == pytest.approx(
        0.5 * sum(np.sum(S * S) for S in Ss) + 0.5 * cfg.lam * np.sum(locality_weights(m, cfg.bandwidth).diagonal() ** 2)
        + cfg.xi * np.sum(locality_weights(m, cfg.bandwidth).diagonal()))


def test_adapt_dictionary_is_F_times_D_normalised():
    D = np.eye(3)[:, :2]
    F = np.diag([2.0, 1.0, 1.0]) + np.eye(3, k=1)
    A = adapt_dictionary(D, F)
    np.testing.assert_allclose(A[:, 0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(A[:, 1], [1.0, 1.0, 0.0] / np.sqrt(2))
    with pytest.raises(ValueError):
        adapt_dictionary(D, np.eye(2))


def test_detector_separates_planted_anomalies():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1)
    proto = np.sin(np.linspace(0, np.pi, 16))
    normal = proto * rng.normal(1, 0.05, (80, 1)) + 0.02 * rng.standard_normal((80, 16))
    anomal = np.roll(proto, 5) * rng.normal(1, 0.05, (10, 1)) + 0.02 * rng.standard_normal((10, 16))
    D = np.linalg.svd(normal[:40].T, full_matrices=False)[0][:, :2]
    det = HeartbeatDetector(D, lam=0.01, fpr=0.05).fit(normal[40:60])
    scores = det.score(np.vstack([normal[60:], anomal]))
    labels = np.r_[np.zeros(20), np.ones(10)]
    assert roc_auc_score(labels, scores) > 0.95
    same = det.with_dictionary(D)
    np.testing.assert_allclose(same.score(anomal), det.score(anomal))


def test_synthetic_record_plants_anomalies_at_the_requested_rate():
    sig, peaks, labels = simulate_record(synthetic_user(2), 90, 20, anomaly_fraction=0.25, seed=3)
    hr = 60.0 * 250 / np.median(np.diff(peaks))
    assert abs(hr - 90) < 6
    assert labels.sum() == round(0.25 * len(peaks))
    b = segment_beats(sig, 250, peaks, labels=labels)
    normal = b.beats[b.labels == 0].mean(0)
    assert np.mean([np.linalg.norm(x - normal) for x in b.beats[b.labels == 1]]) > 2 * np.mean(
        [np.linalg.norm(x - normal) for x in b.beats[b.labels == 0]])


def test_missing_extra_message(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "wfdb", None)  # as if the [ecg] extra were not installed
    with pytest.raises(ImportError, match=r"ECG support needs the \[ecg\] extra: pip install 'nlvision\[ecg\]'"):
        require_extra("wfdb", what="ECG support")


@pytest.fixture(scope="module")
def user_record(tmp_path_factory):
    """A WFDB record of one synthetic user: 60 bpm then 110 bpm with planted 'V' beats."""
    d = tmp_path_factory.mktemp("rec")
    u = synthetic_user(7)
    a, pa, la = simulate_record(u, 60, 45, seed=1)
    b, pb, lb = simulate_record(u, 110, 25, seed=2, anomaly_fraction=0.2)
    sig = np.concatenate([a, b])
    peaks = np.concatenate([pa, pb + a.size])
    symbols = ["V" if x else "N" for x in np.concatenate([la, lb])]
    write_record(d / "s20011", np.stack([sig, sig], axis=1), 250, peaks, symbols)
    return d / "s20011"


def test_cli_adapt_then_detect(tmp_path, user_record, capsys):
    F = tmp_path / "F.npz"
    assert main(["ecg", "adapt", "--users", "2", "--beats", "20", "--max-iter", "3", "-o", str(F), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["shape"] == [64, 64] and F.is_file()
    out = tmp_path / "scores.json"
    assert main(["ecg", "detect", str(user_record), "--transform", str(F), "-o", str(out), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["adapted"] and res["n_r1"] > 20 and 0 < sum(res["labels"]) < res["n_r1"]
    assert res["auc"] > 0.8
    assert json.loads(out.read_text())["scores"] == res["scores"]


def test_cli_adapt_from_records(tmp_path, user_record, capsys):
    F = tmp_path / "F_rec.npz"
    assert main(["ecg", "adapt", str(user_record), "--max-iter", "2", "-o", str(F), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["source"] == "1 of 1 records" and F.is_file()


def test_cli_bad_inputs_one_line_exit_2(tmp_path, user_record, capsys):
    write_record(tmp_path / "noann", np.zeros((3000, 2)), 250)
    assert main(["ecg", "detect", str(tmp_path / "noann")]) == 2
    write_record(tmp_path / "short", np.zeros((50, 2)), 250, [25], ["N"])
    assert main(["ecg", "detect", str(tmp_path / "short")]) == 2
    assert main(["ecg", "detect", str(user_record), "-o", str(user_record) + ".hea"]) == 2
    assert main(["ecg", "adapt", "--r1", "500"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and all(line.startswith("error: ") for line in err)
    assert "no annotation file" in err[0] and "too short for one beat" in err[1]
    assert "Traceback" not in "".join(err)
    assert not (tmp_path / "scores.json").exists()


@pytest.mark.slow
def test_cli_benchmark_small(capsys):
    assert main(["ecg", "benchmark", "--seeds", "1", "--users", "2", "--test-users", "1", "--beats", "20", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res["summary"]["auc"]) == {"none", "learned", "oracle", "resample"}
