"""What a study stores: the names every writer (search) and reader (analysis, export, dashboard) share.

A trial of a sqzdse study carries, as user attributes:
- `arch`: the full architecture, `ArchConfig.to_dict()` (pool_after as a list of layer names);
- `status`: one of STATUSES; `failure_reason`: why a trial failed or was infeasible (absent otherwise);
- the metrics in METRICS that are known (params, MACs and sizes always; accuracy only when trained);
- `curve`: one dict per epoch {epoch, train_loss, top1, top5, seconds}; `device`; `versions`;
- `reused_from`: the number of the trial whose training result a duplicate architecture reused.
Its values are the study's objectives, in the order of the study's metric names.

The study carries as user attributes `space_hash`, `space` (the validated search space as a dict),
`objectives` ([[name, direction], ...]), `dataset`, `num_classes` and `accuracy_note`.

Infeasible configurations (over a constraint budget) are never trained: such a trial is PRUNED with
its constraints recorded through `Trial.set_constraint` and status "infeasible"; no accuracy is
invented for it.
"""

from __future__ import annotations

ARCH = "arch"
STATUS = "status"
FAILURE_REASON = "failure_reason"
CURVE = "curve"
DEVICE = "device"
VERSIONS = "versions"
REUSED_FROM = "reused_from"

STATUSES = ("ok", "reused", "failed", "infeasible")

# metric name -> (direction when used as an objective, unit)
METRICS: dict[str, tuple[str, str]] = {
    "top1": ("maximize", "fraction of validation images"),
    "top5": ("maximize", "fraction of validation images"),
    "params": ("minimize", "parameters of the deployable network"),
    "macs": ("minimize", "multiply-accumulates per image"),
    "size_bytes_32bit": ("minimize", "bytes at 32 bits per parameter"),
    "size_bytes_8bit": ("minimize", "bytes at 8 bits per parameter"),
    "train_seconds": ("minimize", "seconds of proxy training"),
    "train_loss": ("minimize", "final training loss"),
    "images_per_second": ("maximize", "training throughput"),
}
OBJECTIVE_NAMES = ("top1", "top5", "params", "macs", "size_bytes_32bit", "size_bytes_8bit",
                   "train_seconds")
ANALYTIC_METRICS = ("params", "macs", "size_bytes_32bit", "size_bytes_8bit")
TRAINED_METRICS = ("top1", "top5", "train_loss", "train_seconds", "images_per_second")

# Study user attributes.
SPACE_HASH = "space_hash"
SPACE = "space"
OBJECTIVES = "objectives"
DATASET = "dataset"
NUM_CLASSES = "num_classes"
ACCURACY_NOTE = "accuracy_note"
