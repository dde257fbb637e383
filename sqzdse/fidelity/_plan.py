"""What a fidelity run trains: the drawn networks, the proxy's and the reference's settings, seeds.

A `Run` is one training of one network with one setting and one seed. Its `key` names what it
measures (the network, every setting that changes the result, the seed) and nothing else, so a
stored run is found again by any process that plans the same training: after a kill, on another
machine, or from a fidelity run with other proxy settings but the same reference.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum

from sqzdse.arch import ArchConfig
from sqzdse.space import Training

REFERENCE_EPOCHS_FACTOR = 10  # default reference: 10x the proxy's epochs on the full training split
# Settings that say where or how fast a run happens, not what it measures: left out of its key.
_NOT_MEASURED = ("data_root", "device")


class RunRole(StrEnum):
    PROXY = "proxy"
    REFERENCE = "reference"


@dataclass(frozen=True)
class Run:
    """One training: network `network` (its index among the drawn ones) under `role`'s settings."""

    role: RunRole
    network: int
    arch: ArchConfig  # at the setting's resolution
    training: Training  # the setting, with this run's seed

    @property
    def seed(self) -> int:
        return self.training.seed

    @property
    def key(self) -> str:
        return run_key(self.arch, self.training)


def run_key(arch: ArchConfig, training: Training) -> str:
    """A short hash of what a training of `arch` with `training` measures."""
    measured = {k: v for k, v in dataclasses.asdict(training).items() if k not in _NOT_MEASURED}
    # The trainer's default batch size given explicitly is the same training as leaving it out.
    # (Runs were first stored with None for the default, so None stays the key's spelling.)
    if measured["batch_size"] == _default_batch_size():
        measured["batch_size"] = None
    # Runs stored before `lr` existed trained at the default: it stays out of their keys.
    if measured.get("lr") in (None, _default_lr()):
        measured.pop("lr", None)
    blob = json.dumps({"arch": arch.to_dict(), "training": measured}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _default_batch_size() -> int:
    from sqzdse.train import TrainConfig

    return TrainConfig.batch_size


def _default_lr() -> float:
    from sqzdse.train import TrainConfig

    return TrainConfig.lr


@dataclass(frozen=True)
class Plan:
    """Every run of one fidelity measurement, proxy runs first (they are cheap and give the first
    figures), each setting's runs seed by seed, smallest network first."""

    space_name: str
    networks: tuple[ArchConfig, ...]  # at the proxy's resolution, smallest first
    proxy: Training  # seed: the first proxy seed
    reference: Training  # seed: the first reference seed
    proxy_seeds: int
    reference_seeds: int

    def seeds(self, role: RunRole) -> list[int]:
        setting, count = self.setting(role), self.seed_count(role)
        return [setting.seed + k for k in range(count)]

    def setting(self, role: RunRole) -> Training:
        return self.proxy if role is RunRole.PROXY else self.reference

    def seed_count(self, role: RunRole) -> int:
        return self.proxy_seeds if role is RunRole.PROXY else self.reference_seeds

    def runs(self) -> list[Run]:
        runs = []
        for role in RunRole:
            setting = self.setting(role)
            for seed in self.seeds(role):
                training = dataclasses.replace(setting, seed=seed)
                for index, arch in enumerate(self.networks):
                    arch = arch.replace(resolution=training.resolution)
                    runs.append(Run(role, index, arch, training))
        return runs

    @property
    def id(self) -> str:
        """A short hash of what the plan measures: its runs' keys in order, so that two plans
        spelled differently (a default given explicitly) that train the same runs are one."""
        blob = json.dumps([[str(r.role), r.network, r.key] for r in self.runs()])
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def to_dict(self) -> dict:
        """JSON-ready; stored in the study so that readers (the dashboard) rebuild the plan."""
        return {
            "space": self.space_name,
            "networks": [a.to_dict() for a in self.networks],
            "proxy": dataclasses.asdict(self.proxy),
            "reference": dataclasses.asdict(self.reference),
            "proxy_seeds": self.proxy_seeds,
            "reference_seeds": self.reference_seeds,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Plan:
        return cls(
            space_name=data["space"],
            networks=tuple(ArchConfig.from_dict(a) for a in data["networks"]),
            proxy=Training(**data["proxy"]),
            reference=Training(**data["reference"]),
            proxy_seeds=data["proxy_seeds"],
            reference_seeds=data["reference_seeds"],
        )


def reference_setting(space_training: Training, **overrides) -> Training:
    """The default reference for a space's training settings: REFERENCE_EPOCHS_FACTOR times its
    epochs on every training image, its validation images; `overrides` (Training fields) change it.
    It does not follow the proxy's own overrides: candidate proxies share one reference."""
    default = dataclasses.replace(
        space_training,
        epochs=space_training.epochs * REFERENCE_EPOCHS_FACTOR,
        train_per_class=None,
    )
    return dataclasses.replace(default, **overrides)
