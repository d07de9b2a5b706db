"""Person re-identification under attack: BoT and AlignedReID++ with the NFD defense (seed 000).

The public API::

    from nlvision.reid import (train_reid, load_reid_model, evaluate_reid, predict_reid,
                               extract_reid_features, ReidModelConfig, ReidTrainConfig,
                               load_reid_data, run_study, StudyConfig)

References
----------
Seed 000 (NFD: channel-level random erasing + non-local feature denoising); Luo et al. 2019
(BoT, AlignedReID++); Wang et al., CVPR 2020 (Deep Mis-Ranking).
"""

from nlvision.reid.data import load_reid_data
from nlvision.reid.evaluate import evaluate_reid
from nlvision.reid.model import ReidModelConfig, load_reid_model
from nlvision.reid.predict import extract_reid_features, predict_reid
from nlvision.reid.study import StudyConfig, run_study
from nlvision.reid.train import ReidTrainConfig, train_reid

__all__ = [
    "train_reid",
    "load_reid_model",
    "evaluate_reid",
    "predict_reid",
    "extract_reid_features",
    "ReidModelConfig",
    "ReidTrainConfig",
    "load_reid_data",
    "run_study",
    "StudyConfig",
]
