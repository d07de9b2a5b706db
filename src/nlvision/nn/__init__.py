"""Reusable PyTorch building blocks (no training code).

Every module's public names are re-exported here: ``from nlvision.nn import NonLocalBlock,
StackedHourglass, build_resnet, ...``. Blocks take (B, C, H, W) tensors and follow the input's
device and dtype.
"""

from nlvision.nn import erasing, hourglass, losses, non_local, resnet
from nlvision.nn.erasing import *  # noqa: F401,F403
from nlvision.nn.hourglass import *  # noqa: F401,F403
from nlvision.nn.losses import *  # noqa: F401,F403
from nlvision.nn.non_local import *  # noqa: F401,F403
from nlvision.nn.resnet import *  # noqa: F401,F403

__all__ = [
    *erasing.__all__,
    *hourglass.__all__,
    *losses.__all__,
    *non_local.__all__,
    *resnet.__all__,
    # nlvision.nn.weights (checkpoint I/O) is re-exported once it declares __all__
]
