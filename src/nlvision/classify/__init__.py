"""Image classification with ResNets (seed 001: frozen ImageNet ResNet50, GlobalMaxPool, BN, Dropout, softmax).

The deep-task shape shared with :mod:`nlvision.reid` and :mod:`nlvision.pose`:
:func:`train_classifier`, :func:`load_classifier_model`, :func:`evaluate_classifier`,
:func:`predict_classifier`, :class:`ClassifierModelConfig`, :class:`ClassifierTrainConfig`
(trainer options: :class:`nlvision.engine.TrainerConfig`), plus :func:`export_classifier`.
"""

from nlvision.classify.data import AugmentConfig, ClassificationData, augment_batch, load_data
from nlvision.classify.evaluate import classification_metrics, confusion_matrix, evaluate_classifier, plot_confusion
from nlvision.classify.export import export_classifier
from nlvision.classify.model import ClassifierModelConfig, ResNetClassifier, load_backbone_weights, load_classifier_model
from nlvision.classify.predict import predict_classifier, predict_proba, top_k
from nlvision.classify.train import ClassifierTrainConfig, digits_recipe, train_classifier

__all__ = [
    "AugmentConfig",
    "ClassificationData",
    "ClassifierModelConfig",
    "ClassifierTrainConfig",
    "ResNetClassifier",
    "augment_batch",
    "classification_metrics",
    "confusion_matrix",
    "digits_recipe",
    "evaluate_classifier",
    "export_classifier",
    "load_backbone_weights",
    "load_classifier_model",
    "load_data",
    "plot_confusion",
    "predict_classifier",
    "predict_proba",
    "top_k",
    "train_classifier",
]
