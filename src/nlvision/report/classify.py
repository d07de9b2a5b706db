"""Demo-report section: ResNet trained from scratch on scikit-learn's digits."""

from __future__ import annotations

from pathlib import Path


def build(out_dir: Path, quick: bool):
    """Train the digits recipe (6 epochs quick, 20 full), write the confusion matrix, return the section.

    The run folder (checkpoints, logs, config.json) is ``out_dir/classify_digits``.
    """
    import torch

    from nlvision.classify import plot_confusion
    from nlvision.classify import digits_recipe, train_classifier
    from nlvision.engine import TrainerConfig
    from nlvision.report.base import Section, figure_html, html_table

    out_dir = Path(out_dir)
    epochs = 6 if quick else 20
    mc, tc = digits_recipe()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small 32x32 convolutions: one thread is as fast and robust to a shared CPU
    try:
        r = train_classifier("digits", out_dir / "classify_digits", model_config=mc, train_config=tc,
                             trainer_config=TrainerConfig(epochs=epochs, progress=False, seed=0, accelerator="cpu", devices="1"))
    finally:
        torch.set_num_threads(threads)
    fig = "classify_digits_confusion.png"
    plot_confusion(r["confusion"], [str(i) for i in range(10)], out_dir / fig,
                   title=f"digits, ResNet-18/16 from scratch, {epochs} epochs")
    rows = [[c, f"{100 * a:.1f} %"] for c, a in r["per_class_accuracy"].items()]
    body = (
        f"<p>scikit-learn's bundled handwritten digits (real data: 1,347 training / 450 test images, fixed stratified "
        f"split), 8×8 upsampled to 32×32, trained from scratch for {epochs} epochs on the CPU with a ResNet-18 layout "
        f"(16-channel stem, {r['trainable_parameters']:,} parameters) and the seed's head (GlobalMaxPool → BatchNorm → "
        f"Dropout(0.3) → Dense). Test accuracy <b>{100 * r['accuracy']:.1f} %</b> after {r['train_seconds']:.0f} s of "
        f"training.</p>"
        + html_table(["class", "accuracy"], rows)
        + figure_html(fig, "Row-normalised confusion matrix on the test split (seed 001, figure 3-3 style).")
    )
    return Section("Image classification (ResNet)", body, [fig],
                   {"digits_test_accuracy": r["accuracy"], "epochs": epochs, "train_seconds": r["train_seconds"]})
