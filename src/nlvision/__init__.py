"""nlvision: non-local and sparse modelling for computer vision.

Areas (each a sub-package): :mod:`nlvision.restoration`, :mod:`nlvision.security`,
:mod:`nlvision.classify`, :mod:`nlvision.reid`, :mod:`nlvision.pose`; reusable PyTorch blocks
live in :mod:`nlvision.nn`, file input/output of images in :mod:`nlvision.imageio`.
"""

__version__ = "0.1.0"
