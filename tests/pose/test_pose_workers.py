"""Pose training with DataLoader workers: every epoch draws new augmentations."""

from __future__ import annotations

from nlvision.pose.model import PoseModelConfig
from nlvision.pose.train import PoseTrainConfig, make_loaders


def _epoch_matrices(loader, epoch):
    loader.dataset.set_epoch(epoch)  # what the training module does at every epoch start
    return sorted(tuple(m.flatten().tolist()) for batch in loader for m in batch["matrix"])


def test_worker_processes_see_each_epochs_augmentation():
    # catches persistent workers: they kept the data set copied at epoch 0, so every epoch
    # replayed epoch 0's crops (the set of augmentation matrices was identical)
    train, _ = make_loaders("synthetic", PoseModelConfig(input_size=64),
                            PoseTrainConfig(n_train=4, n_valid=2, batch_size=4, workers=2))
    first, second, again = (_epoch_matrices(train, e) for e in (0, 1, 0))
    assert first != second
    assert first == again  # and the stream is a function of (seed, epoch, index): resumable
