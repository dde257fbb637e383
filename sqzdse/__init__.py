"""sqzdse: design-space exploration for the SqueezeNet family of CNNs.

The public API; everything else is internal. `sqzdse.arch` and `sqzdse.records` import no torch.
Subpackages with their own public names: `sqzdse.search`, `sqzdse.analysis`, `sqzdse.data`,
`sqzdse.dashboard`, `sqzdse.testing`; `sqzdse.storage` opens study storages.
"""

from sqzdse.arch import ArchConfig, FireSpec, count_macs, count_params, preset, resolve
from sqzdse.errors import SqzdseError
from sqzdse.records import METRICS, Metric, Status, StudyInfo, TrialRecord

__version__ = "0.1.0"

__all__ = [
    "METRICS",
    "ArchConfig",
    "FireSpec",
    "Metric",
    "SqzdseError",
    "Status",
    "StudyInfo",
    "TrialRecord",
    "count_macs",
    "count_params",
    "preset",
    "resolve",
    "__version__",
]
