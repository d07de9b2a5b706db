"""Human pose estimation: stacked hourglass with ACNN attention masks (seed 002).

Train with :func:`train_pose`, load with :func:`load_pose_model`, measure PCKh with
:func:`evaluate_pose` (or :func:`score_predictions` for a predictions file), predict on images
with :func:`predict_pose`. Every coordinate is a 0-based pixel index (x = column, y = row)
except the MPII ``pred.mat`` layout (1-based).
"""

from nlvision.pose.data import person_crop, read_gt_valid_mat, read_mpii_json
from nlvision.pose.evaluate import (
    evaluate_pose,
    mean_pose_baseline,
    pckh,
    read_predictions,
    score_predictions,
)
from nlvision.pose.model import PoseModelConfig, build_pose_model, load_pose_model
from nlvision.pose.predict import predict_pose, write_coco_keypoints, write_mpii_pred_mat
from nlvision.pose.train import PoseTrainConfig, train_pose

__all__ = [
    "PoseModelConfig",
    "PoseTrainConfig",
    "train_pose",
    "build_pose_model",
    "load_pose_model",
    "evaluate_pose",
    "predict_pose",
    "score_predictions",
    "read_predictions",
    "pckh",
    "mean_pose_baseline",
    "read_mpii_json",
    "read_gt_valid_mat",
    "person_crop",
    "write_mpii_pred_mat",
    "write_coco_keypoints",
]
