"""sqzdse: design-space exploration for the SqueezeNet family of CNNs.

The public API; everything else is internal. `sqzdse.arch` imports no torch.
"""

from sqzdse.arch import ArchConfig, FireSpec, count_macs, count_params, preset, resolve
from sqzdse.errors import SqzdseError

__version__ = "0.1.0"

__all__ = ["ArchConfig", "FireSpec", "SqzdseError", "count_macs", "count_params", "preset",
           "resolve", "__version__"]
