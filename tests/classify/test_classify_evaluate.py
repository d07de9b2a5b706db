"""Metrics, confusion-matrix figure, top-k and checkpoint loading."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.metrics import confusion_matrix as sk_confusion

from nlvision.classify import confusion_matrix, evaluate_classifier, load_classifier_model, plot_confusion, predict_classifier, top_k
from nlvision.classify.model import ClassifierModelConfig, ResNetClassifier
from nlvision.nn.weights import save_checkpoint


def test_confusion_matches_sklearn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 300)
    p = np.where(rng.random(300) < 0.7, y, rng.integers(0, 5, 300))
    np.testing.assert_allclose(confusion_matrix(y, p, 5), sk_confusion(y, p, labels=range(5), normalize="true"))
    np.testing.assert_array_equal(confusion_matrix(y, p, 5, normalize=False), sk_confusion(y, p, labels=range(5)))
    # absent class: zero row, no NaN
    assert confusion_matrix(np.array([0, 0]), np.array([0, 1]), 3)[2].tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="y_pred: expected 2 predictions"):
        confusion_matrix(np.array([0, 1]), np.array([0]), 2)
    with pytest.raises(ValueError, match=r"y_true: labels must lie in \[0, 2\)"):
        confusion_matrix(np.array([0, 2]), np.array([0, 1]), 2)


def test_top_k_hand_case():
    probs = np.array([[0.05, 0.6, 0.35], [0.5, 0.2, 0.3]])
    r = top_k(probs, 2, ["x", "y", "z"])
    assert [[t["class"] for t in row] for row in r] == [["y", "z"], ["x", "z"]]
    assert r[0][1]["probability"] == pytest.approx(0.35)
    assert len(top_k(probs, 10, ["x", "y", "z"])[0]) == 3
    with pytest.raises(ValueError, match="k: expected a positive int"):
        top_k(probs, 0, ["x", "y", "z"])
    with pytest.raises(ValueError, match=r"probs: expected shape \(N, 2\)"):
        top_k(probs, 1, ["x", "y"])


class _Fixed(torch.nn.Module):
    """Predicts the class stored in the red channel of the top-left pixel."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.config = ClassifierModelConfig("resnet18", num_classes=3)

    def forward(self, x):
        cls = torch.round(x[:, 0, 0, 0] * 255).long()
        return torch.nn.functional.one_hot(cls, 3).float() * 10 + self.w


def test_evaluate_model_accuracy_and_per_class():
    labels = np.array([0, 0, 1, 1, 2, 2, 2, 2])
    pred = np.array([0, 1, 1, 1, 2, 2, 0, 2])
    imgs = np.zeros((8, 4, 4, 3), np.uint8)
    imgs[:, 0, 0, 0] = pred
    r = evaluate_classifier(_Fixed(), imgs, labels, classes=["a", "b", "c"], batch_size=3)
    assert r["accuracy"] == pytest.approx(6 / 8)
    assert r["per_class_accuracy"] == pytest.approx({"a": 0.5, "b": 1.0, "c": 0.75})
    with pytest.raises(ValueError, match="labels: expected 8 labels"):
        evaluate_classifier(_Fixed(), imgs, labels[:3], classes=["a", "b", "c"])
    with pytest.raises(ValueError, match="images: expected an"):
        evaluate_classifier(_Fixed(), imgs.astype(float), labels, classes=["a", "b", "c"])


def test_plot_confusion_writes_png(tmp_path):
    p = plot_confusion(np.eye(3), ["cat", "dog", "frog"], tmp_path / "cm.png", title="t")
    with Image.open(p) as im:
        assert im.format == "PNG" and im.size[0] > 100
    with pytest.raises(ValueError, match=r"cm: expected shape \(2, 2\)"):
        plot_confusion(np.eye(3), ["a", "b"], tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_load_classifier_checks_task_and_architecture(tmp_path):
    cfg = ClassifierModelConfig("resnet18", num_classes=3, width=4, upsample_steps=0, image_size=16, classes=["a", "b", "c"])
    m = ResNetClassifier(cfg).eval()
    save_checkpoint(tmp_path / "ok.safetensors", m, task="classify", config=cfg.to_dict())
    back = load_classifier_model(tmp_path / "ok.safetensors")
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(back(x), m(x))
    Image.fromarray((np.random.default_rng(0).random((20, 30, 3)) * 255).astype(np.uint8)).save(tmp_path / "a.png")
    r, failed = predict_classifier(back, [tmp_path / "a.png"], k=2)
    assert not failed and [t["class"] for t in r[0]["top_k"]] != [] and len(r[0]["top_k"]) == 2
    with torch.no_grad():
        from nlvision.classify.data import prepare_image
        from nlvision.imageio import load_image

        ref = torch.softmax(m(torch.from_numpy(prepare_image(load_image(tmp_path / "a.png"), 16)).permute(2, 0, 1)[None].float() / 255), 1)[0]
    assert r[0]["top_k"][0]["probability"] == pytest.approx(float(ref.max()), rel=1e-5)
    # metadata that is valid JSON but not an object: one clean error
    from safetensors.torch import save_file

    save_file({"a": torch.zeros(1)}, str(tmp_path / "list.safetensors"), metadata={"nlvision": "[1, 2]"})
    with pytest.raises(ValueError, match="metadata must be a JSON object"):
        load_classifier_model(tmp_path / "list.safetensors")
    save_file({"a": torch.zeros(1)}, str(tmp_path / "cfg.safetensors"), metadata={"nlvision": '{"task": "classify", "config": [1]}'})
    with pytest.raises(ValueError, match="metadata must be a JSON object"):
        load_classifier_model(tmp_path / "cfg.safetensors")
    # another task's checkpoint
    save_checkpoint(tmp_path / "reid.safetensors", m, task="reid", config=cfg.to_dict())
    with pytest.raises(ValueError, match="checkpoint is for task 'reid', expected 'classify'"):
        load_classifier_model(tmp_path / "reid.safetensors")
    # weights of another architecture under a resnet18 config
    big = ResNetClassifier(ClassifierModelConfig("resnet50", num_classes=3, width=4, upsample_steps=0, image_size=16))
    save_checkpoint(tmp_path / "mixed.safetensors", big, task="classify", config=cfg.to_dict())
    with pytest.raises(ValueError, match=r"does not match architecture resnet18: .*missing key"):
        load_classifier_model(tmp_path / "mixed.safetensors")
    with pytest.raises(ValueError, match="no such checkpoint"):
        load_classifier_model(tmp_path / "none.safetensors")


from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 6).flatmap(lambda k: st.tuples(st.just(k), st.lists(st.tuples(st.integers(0, k - 1), st.integers(0, k - 1)), min_size=1, max_size=60))))
def test_confusion_property_vs_sklearn(case):
    k, pairs = case
    y, p = np.array([a for a, _ in pairs]), np.array([b for _, b in pairs])
    ref = sk_confusion(y, p, labels=range(k)).astype(float)
    rows = ref.sum(1, keepdims=True)
    ref = np.divide(ref, rows, out=np.zeros_like(ref), where=rows > 0)
    np.testing.assert_allclose(confusion_matrix(y, p, k), ref)


def test_predict_batched_matches_one_by_one_and_reports_bad_files(tmp_path):
    """Batched prediction over a folder/glob gives each image's own probabilities (computed one at a time
    with the model directly), in order, and a file that fails to decode is reported, not fatal."""
    from nlvision.classify.data import prepare_image
    from nlvision.imageio import load_image

    cfg = ClassifierModelConfig("resnet18", num_classes=4, width=4, upsample_steps=0, image_size=12)
    torch.manual_seed(0)
    m = ResNetClassifier(cfg).eval()
    rng = np.random.default_rng(1)
    for i in range(7):
        Image.fromarray((rng.random((10 + i, 14, 3)) * 255).astype(np.uint8)).save(tmp_path / f"im{i}.png")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    # images already at the model's size take Pillow's fast path (RGB and gray): same probabilities expected
    Image.fromarray((rng.random((12, 12, 3)) * 255).astype(np.uint8)).save(tmp_path / "im5.png")
    Image.fromarray((rng.random((12, 12)) * 255).astype(np.uint8)).save(tmp_path / "im6.png")
    preds, failed = predict_classifier(m, [tmp_path], k=4, batch_size=3)
    assert [f["image"] for f in failed] == [str(tmp_path / "broken.png")] and failed[0]["error"]
    assert [p["image"] for p in preds] == [str(tmp_path / f"im{i}.png") for i in range(7)]
    for p in preds:
        x = torch.from_numpy(prepare_image(load_image(p["image"]), 12)).permute(2, 0, 1)[None].float() / 255
        with torch.no_grad():
            ref = torch.softmax(m(x), 1)[0].numpy()
        got = np.zeros(4)
        for t in p["top_k"]:
            got[t["index"]] = t["probability"]
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-6)
    globbed, _ = predict_classifier(m, [str(tmp_path / "im[0-2].png")], k=1)
    assert [p["image"] for p in globbed] == [str(tmp_path / f"im{i}.png") for i in range(3)]
    with pytest.raises(ValueError, match="no image files found"):
        predict_classifier(m, [str(tmp_path / "*.jpg")])
    with pytest.raises(ValueError, match="no such image, folder or pattern"):
        predict_classifier(m, [tmp_path / "missing.png"])
