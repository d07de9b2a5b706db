"""Market-1501 protocol vs a per-query reference built on scikit-learn; re-ranking properties."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.metrics import average_precision_score

from nlvision.reid.evaluate import evaluate_features, evaluate_ranking, feature_distance, re_ranking


def _reference(dist, qp, gp, qc, gc, max_rank=20):
    """Straightforward per-query protocol; AP from scikit-learn (non-interpolated)."""
    aps, firsts = [], []
    for i in range(len(qp)):
        keep = ~((gp == qp[i]) & (gc == qc[i]))
        d, y = dist[i, keep], gp[keep] == qp[i]
        if not y.any():
            continue
        aps.append(average_precision_score(y, -d))
        order = np.argsort(d, kind="stable")
        firsts.append(int(np.flatnonzero(y[order])[0]) + 1)
    firsts = np.array(firsts)
    cmc = np.array([(firsts <= k).mean() for k in range(1, max_rank + 1)])
    return float(np.mean(aps)), cmc, len(aps)


def _random_problem(seed, nq=60, ng=400, ids=30, cams=4):
    rng = np.random.default_rng(seed)
    qp = rng.integers(1, ids, nq)
    gp = rng.integers(0, ids, ng)  # 0 = distractors
    qc, gc = rng.integers(0, cams, nq), rng.integers(0, cams, ng)
    dist = rng.random((nq, ng)) + 0.5 * (qp[:, None] != gp[None, :])  # informative distances
    return dist, qp, gp, qc, gc


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_per_query_reference(seed):
    dist, qp, gp, qc, gc = _random_problem(seed)
    m = evaluate_ranking(dist, qp, gp, qc, gc, max_rank=20, chunk_size=7, workers=2)
    ref_map, ref_cmc, n = _reference(dist, qp, gp, qc, gc)
    assert m.num_valid_queries == n
    assert m.mAP == pytest.approx(ref_map, abs=1e-10)
    np.testing.assert_allclose(m.cmc, ref_cmc, atol=1e-12)
    assert len(m.ap) == n


def test_hand_worked_case():
    # query id 1 cam 0; gallery sorted by distance: [id1 cam0 (junk), id2, id1 cam1, id3, id1 cam2]
    dist = np.array([[0.1, 0.2, 0.3, 0.4, 0.5]])
    gp = np.array([1, 2, 1, 3, 1])
    gc = np.array([0, 1, 1, 2, 2])
    m = evaluate_ranking(dist, np.array([1]), gp, np.array([0]), gc, max_rank=4)
    # junk removed -> ranks: id2 (1), id1 (2), id3 (3), id1 (4): AP = (1/2 + 2/4) / 2 = 0.5
    assert m.mAP == pytest.approx(0.5)
    np.testing.assert_allclose(m.cmc, [0, 1, 1, 1])


def test_queries_without_match_are_skipped():
    dist = np.array([[0.1, 0.2], [0.3, 0.1]])
    m = evaluate_ranking(dist, np.array([1, 5]), np.array([1, 2]), np.array([0, 0]), np.array([1, 1]))
    assert m.num_valid_queries == 1 and m.mAP == 1.0


@pytest.mark.parametrize(
    "args, exc, match",
    [
        ((np.zeros(3), [1], [1], [0], [0]), ValueError, "distmat"),
        ((np.zeros((1, 2)), [1], [1], [0], [0, 1]), ValueError, "g_pids"),
        ((np.zeros((1, 1)), [1.5], [1], [0], [1]), TypeError, "q_pids"),
        ((np.full((1, 1), np.nan), [1], [1], [0], [1]), ValueError, "NaN"),
        ((np.zeros((1, 1)), [1], [1], [0], [0]), ValueError, "no query"),
        ((np.zeros((0, 1)), [], [1], [], [0]), ValueError, "empty"),
    ],
)
def test_bad_input(args, exc, match):
    d, qp, gp, qc, gc = args
    with pytest.raises(exc, match=match):
        evaluate_ranking(d, np.array(qp), np.array(gp), np.array(qc), np.array(gc))


def test_feature_distance_vs_scipy():
    rng = np.random.default_rng(0)
    q, g = rng.normal(size=(5, 8)), rng.normal(size=(7, 8))
    np.testing.assert_allclose(feature_distance(q, g), cdist(q, g, "sqeuclidean"), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(feature_distance(q, g, "cosine"), cdist(q, g, "cosine"), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="euclidean"):
        feature_distance(q, g, "manhattan")


def test_re_ranking_lambda_one_is_normalised_original_distance():
    rng = np.random.default_rng(1)
    q, g = rng.normal(size=(4, 6)), rng.normal(size=(12, 6))
    allf = np.concatenate([q, g])
    d = cdist(allf, allf, "sqeuclidean")
    ref = (d / d.max(axis=0, keepdims=True)).T[:4, 4:]
    np.testing.assert_allclose(re_ranking(q, g, k1=5, k2=3, lambda_value=1.0), ref, rtol=1e-4, atol=1e-5)


def test_re_ranking_on_clusters_keeps_perfect_retrieval():
    rng = np.random.default_rng(2)
    centres = rng.normal(size=(5, 16)) * 5
    g = np.repeat(centres, 6, axis=0) + rng.normal(size=(30, 16)) * 0.3
    q = centres + rng.normal(size=(5, 16)) * 0.3
    gp, qp = np.repeat(np.arange(1, 6), 6), np.arange(1, 6)
    m, d = evaluate_features(q, g, qp, gp, np.zeros(5, int), np.ones(30, int), rerank=True)
    assert d.shape == (5, 30) and m.mAP == pytest.approx(1.0) and m.rank(1) == 1.0
    with pytest.raises(ValueError, match="k1"):
        re_ranking(q, g, k1=0)


def test_ties_are_ordered_by_gallery_index():
    from nlvision.reid.evaluate import _chunk_stats, _chunk_stats_argsort

    rng = np.random.default_rng(4)
    dist = rng.integers(0, 6, (40, 200)).astype(np.float32)  # many ties
    qp, gp = rng.integers(1, 10, 40), rng.integers(0, 10, 200)
    qc, gc = rng.integers(0, 3, 40), rng.integers(0, 3, 200)
    a, b = _chunk_stats(dist, qp, qc, gp, gc, 20), _chunk_stats_argsort(dist, qp, qc, gp, gc, 20)
    np.testing.assert_allclose(a[0], b[0], atol=1e-12)
    np.testing.assert_array_equal(a[1], b[1])
    assert a[2] == b[2]
