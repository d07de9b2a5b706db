"""Deterministic data generators and embedded data sets: the offline defaults of every command.

Every module's public names are re-exported here (``from nlvision.datasets import
make_texture_benchmark, SyntheticPersons, ...``). Synthetic results are always labelled as such.

- :mod:`~nlvision.datasets.textures`: scikit-image textures with planted defects (anomaly detection);
- :mod:`~nlvision.datasets.nanofibres`: SEM-nanofibre-like textures at chosen zooms (seed 003);
- :mod:`~nlvision.datasets.sparse_images`: very sparse images for the CSC denoising comparison;
- :mod:`~nlvision.datasets.synthetic_persons`: persons seen by several cameras (re-identification);
- :mod:`~nlvision.datasets.synthetic_figures`: articulated figures with 16 MPII joints (pose).
"""

from nlvision.datasets import nanofibres, sparse_images, synthetic_figures, synthetic_persons, textures
from nlvision.datasets.nanofibres import *  # noqa: F401,F403
from nlvision.datasets.sparse_images import *  # noqa: F401,F403
from nlvision.datasets.synthetic_figures import *  # noqa: F401,F403
from nlvision.datasets.synthetic_persons import *  # noqa: F401,F403
from nlvision.datasets.textures import *  # noqa: F401,F403

__all__ = [
    *textures.__all__,
    *nanofibres.__all__,
    *sparse_images.__all__,
    *synthetic_persons.__all__,
    *synthetic_figures.__all__,
]
