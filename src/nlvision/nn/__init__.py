"""Reusable PyTorch building blocks (no training code).

Every module's public names are re-exported here: ``from nlvision.nn import NonLocalBlock,
StackedHourglass, build_resnet, ...``. Blocks take (B, C, H, W) tensors and follow the input's
device and dtype. Safe weight-file I/O (safetensors / ``torch.load(weights_only=True)``) comes
from :mod:`nlvision.nn.weights`: ``read_state_dict``, ``load_weights``, ``save_checkpoint``, ...
"""

from nlvision.nn import erasing, hourglass, losses, non_local, resnet, weights
from nlvision.nn.erasing import *  # noqa: F401,F403
from nlvision.nn.hourglass import *  # noqa: F401,F403
from nlvision.nn.losses import *  # noqa: F401,F403
from nlvision.nn.non_local import *  # noqa: F401,F403
from nlvision.nn.resnet import *  # noqa: F401,F403
from nlvision.nn.weights import *  # noqa: F401,F403

__all__ = [
    *erasing.__all__,
    *hourglass.__all__,
    *losses.__all__,
    *non_local.__all__,
    *resnet.__all__,
    *weights.__all__,
]
