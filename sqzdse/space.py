"""Search spaces: the YAML schema, validated once at the boundary, and `suggest()` for trials.

A space file (see search_spaces/*.yaml) has these top-level keys, all optional but `metaparameters`:

    name, description, metaparameters, pooling, bypass, network, objectives, constraints, sampler,
    training, n_trials, timeout, fidelity, compression, quantization

Each metaparameter (base_e, incr_e, pct_3x3, freq, sr) and `bypass` is a fixed value, a list of
choices `{choices: [...]}`, or a range `{low, high, step?, log?}`. Pooling is fixed (`after: [...]`)
or searched (`among: [...]`, `count: k | {low, high}`, `conv1: true | false | search`). Every error
names the key path, the value and what is allowed.

The stem (conv1) is `network: {stem: {filters, kernel, stride, padding}}`; each is a fixed integer
(as before: fixed stems hash and sample exactly as they did), `{choices: [...]}` or an integer range
`{low, high, step?}`. Searched stem values are suggested after every other dimension, as the Optuna
parameters stem_kernel, stem_stride, stem_filters and stem_padding. When the kernel is searched and
`padding` is not given, each kernel gets "same" padding, kernel // 2 (a 32 px input stays 32 px at
stride 1); a given padding is used for every kernel. Every stem the space allows must leave a
feature map under the most pools it allows, or the space is refused when it is loaded.
`network.num_modules` is searched the same way (after the stem, as the Optuna parameter
`num_modules`); pools are then placed among the layers of its smallest network.

`training.resolution` is a fixed integer (hashed and sampled as before it could be searched), or
`{choices: [...]}` / an integer range, drawn after the stem as the Optuna parameter `resolution`
into the trial's ArchConfig; the checks above are made at the smallest resolution it allows.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sqzdse import records
from sqzdse.arch import BYPASS_TYPES, PRESET_NAMES, ArchConfig, Group, fields_of, preset
from sqzdse.compression import Settings as CompressionSettings
from sqzdse.devices import DEVICES, is_device_spec
from sqzdse.errors import ArchError, SpaceError, SqzdseError
from sqzdse.quantization import Settings as QuantizationSettings
from sqzdse.records import OBJECTIVE_NAMES, Source, metrics_of
from sqzdse.run_settings import DataSpec, TrainConfig

MAX_SPACE_BYTES = 1_000_000
MIN_RESOLUTION = 8  # pixels: training.resolution and each value it searches
METAPARAMETERS = tuple(f.name for f in fields_of(Group.METAPARAMETER))
INT_METAPARAMETERS = tuple(f.name for f in fields_of(Group.METAPARAMETER) if f.type is int)
STEM_KEYS = ("filters", "kernel", "stride", "padding")  # network.stem; ArchConfig's stem_<key>
# Searched network dimensions, in the order they are suggested (after every other dimension but
# the resolution): a space that fixes one samples as it did before it could be searched.
STEM_PARAMS = ("stem_kernel", "stem_stride", "stem_filters", "stem_padding")
NETWORK_PARAMS = (*STEM_PARAMS, "num_modules")
SPACES_DIR = "search_spaces"
TOP_LEVEL_KEYS = (
    "name",
    "description",
    "metaparameters",
    "pooling",
    "bypass",
    "network",
    "objectives",
    "constraints",
    "sampler",
    "training",
    "n_trials",
    "timeout",
    "fidelity",
    "compression",
    "quantization",
)
CONSTRAINT_METRICS = metrics_of(source=Source.ANALYTIC)  # known before training: budgets


# ---------------------------------------------------------------------------- parameters


class ParamKind(enum.StrEnum):
    """How a dimension takes its values (stored as these strings)."""

    FIXED = "fixed"
    CHOICES = "choices"
    INT = "int"  # an integer range
    FLOAT = "float"  # a float range


@dataclass(frozen=True)
class Param:
    """One dimension: fixed (`value`), a list of `choices`, or an int/float range."""

    name: str
    kind: ParamKind
    value: Any = None
    choices: tuple = ()
    low: float = 0
    high: float = 0
    step: float | None = None
    log: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ParamKind(self.kind))  # as stored: "fixed", ...

    @property
    def searched(self) -> bool:
        return self.kind is not ParamKind.FIXED

    def suggest(self, trial) -> Any:
        if self.kind is ParamKind.FIXED:
            return self.value
        if self.kind is ParamKind.CHOICES:
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind is ParamKind.INT:
            return trial.suggest_int(
                self.name, self.low, self.high, step=self.step or 1, log=self.log
            )
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)

    def values(self) -> list:
        """Every value this dimension can take; SpaceError for a continuous range."""
        if self.kind is ParamKind.FIXED:
            return [self.value]
        if self.kind is ParamKind.CHOICES:
            return list(self.choices)
        if self.kind is ParamKind.INT:
            return list(range(int(self.low), int(self.high) + 1, int(self.step or 1)))
        if self.step is None:
            raise SpaceError(
                f"metaparameters.{self.name}: a continuous range ({self.low} to "
                f"{self.high}); grid and brute-force samplers need a `step` or "
                "`choices`"
            )
        n = math.floor((self.high - self.low) / self.step + 1e-9)
        return [round(self.low + i * self.step, 12) for i in range(n + 1)]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Param:
        """The Param stored as `dataclasses.asdict` and JSON (its choices a list)."""
        return cls(**{**data, "choices": tuple(data.get("choices") or ())})

    def extremes(self) -> list:
        """The values to check against the architecture's own validation."""
        if self.kind is ParamKind.FIXED:
            return [self.value]
        if self.kind is ParamKind.CHOICES:
            return list(self.choices)
        return [self.low, self.high]


def _parse_param(node: Any, path: str, *, integer: bool) -> Param:
    name = path.rsplit(".", 1)[-1]
    number = "an integer" if integer else "a number"
    if not isinstance(node, dict):
        _check_number(node, path, integer=integer)
        return Param(name, ParamKind.FIXED, value=node)
    if "choices" in node:
        _check_keys(node, path, ("choices",))
        choices = node["choices"]
        if not isinstance(choices, list) or not choices:
            raise SpaceError(f"{path}.choices: expected a non-empty list, got {choices!r}")
        for i, c in enumerate(choices):
            _check_number(c, f"{path}.choices[{i}]", integer=integer)
        if len(set(choices)) != len(choices):
            raise SpaceError(f"{path}.choices: {choices!r} lists a value more than once")
        return Param(name, ParamKind.CHOICES, choices=tuple(choices))
    _check_keys(node, path, ("low", "high", "step", "log"))
    for key in ("low", "high"):
        if key not in node:
            raise SpaceError(
                f"{path}: a range needs `low` and `high` (or give `choices`: [...] or "
                f"a fixed value); got {node!r}"
            )
        _check_number(node[key], f"{path}.{key}", integer=integer)
    low, high, step, log = node["low"], node["high"], node.get("step"), node.get("log", False)
    if low > high:
        raise SpaceError(f"{path}: `low` ({low}) must not exceed `high` ({high})")
    if not isinstance(log, bool):
        raise SpaceError(f"{path}.log: expected true or false, got {log!r}")
    if step is not None:
        _check_number(step, f"{path}.step", integer=integer)
        if step <= 0:
            raise SpaceError(f"{path}.step: expected {number} > 0, got {step!r}")
        if log:
            raise SpaceError(f"{path}: `step` and `log: true` cannot be combined")
    if log and low <= 0:
        raise SpaceError(f"{path}.low: a log range needs `low` > 0, got {low!r}")
    return Param(
        name, ParamKind.INT if integer else ParamKind.FLOAT, low=low, high=high, step=step, log=log
    )


def _parse_choice_param(node: Any, path: str, allowed: tuple[str, ...]) -> Param:
    name = path.rsplit(".", 1)[-1]
    options = f"one of {', '.join(allowed)}"
    if isinstance(node, dict):
        _check_keys(node, path, ("choices",))
        choices = node.get("choices")
        if not isinstance(choices, list) or not choices:
            raise SpaceError(
                f"{path}.choices: expected a non-empty list of {options}, got {choices!r}"
            )
        for i, c in enumerate(choices):
            if c not in allowed:
                raise SpaceError(f"{path}.choices[{i}]: expected {options}, got {c!r}")
        if len(set(choices)) != len(choices):
            raise SpaceError(f"{path}.choices: {choices!r} lists a value more than once")
        return Param(name, ParamKind.CHOICES, choices=tuple(choices))
    if node not in allowed:
        raise SpaceError(f"{path}: expected {options} or {{choices: [...]}}, got {node!r}")
    return Param(name, ParamKind.FIXED, value=node)


# ---------------------------------------------------------------------------- sections


class Conv1Pool(enum.StrEnum):
    """Whether a searched layout pools after conv1 (`pooling.conv1`; stored as these strings)."""

    ALWAYS = "true"
    NEVER = "false"
    SEARCH = "search"


@dataclass(frozen=True)
class Pooling:
    """Fixed positions, or `count` pools among `among` plus a fixed or searched pool after conv1."""

    fixed: tuple[str, ...] | None = ("conv1", "fire4", "fire8")
    among: tuple[str, ...] = ()
    count: Param = Param("pool_count", ParamKind.FIXED, value=0)
    conv1: Conv1Pool = Conv1Pool.ALWAYS

    def __post_init__(self) -> None:
        object.__setattr__(self, "conv1", Conv1Pool(self.conv1))  # as stored: "true", ...

    @property
    def searched(self) -> bool:
        return self.fixed is None

    def combinations(self) -> list[str]:
        """Every choice of module pools, as comma-joined names in layer order."""
        return [
            ",".join(c) for k in self.count.values() for c in itertools.combinations(self.among, k)
        ]

    def suggest(self, trial) -> tuple[str, ...]:
        if self.fixed is not None:
            return self.fixed
        if self.conv1 is Conv1Pool.SEARCH:
            conv1 = trial.suggest_categorical("pool_conv1", [True, False])
        else:
            conv1 = self.conv1 is Conv1Pool.ALWAYS
        modules = trial.suggest_categorical("pool_after", self.combinations())
        return (("conv1",) if conv1 else ()) + tuple(n for n in modules.split(",") if n)

    def max_pools(self) -> tuple[str, ...]:
        """A layout with the most pools this space allows (the one most likely to vanish)."""
        if self.fixed is not None:
            return self.fixed
        k = max(self.count.values())
        return (("conv1",) if self.conv1 is not Conv1Pool.NEVER else ()) + self.among[
            len(self.among) - k :
        ]


@dataclass(frozen=True)
class Training:
    """The `training` section: how every trial of the space trains its proxy. Defaults are the
    trainer's (TrainConfig) and the data's (DataSpec); a test keeps them equal."""

    dataset: str = "digits"
    data_root: str | None = None
    # input height = width in pixels: a fixed integer (hashed as before it could be searched), or
    # a Param drawn per trial as the Optuna parameter `resolution` (the trial's ArchConfig has it)
    resolution: int | Param = 32
    train_per_class: int | None = None  # None: every training image
    val_per_class: int | None = None  # None: every validation image
    # share of each class of the training pool held out for validation; None: the data set's
    # default (sqzdse.data: a sixth of the training images where there is an official test split,
    # 20% of a set split three ways). Part of the space hash: studies from before the three
    # splits, whose validation images were the official test images, lack it.
    val_fraction: float | None = None
    epochs: int = 3
    batch_size: int | None = None  # None: the trainer's default
    lr: float | None = None  # peak learning rate; None: the trainer's default
    device: str = "auto"
    seed: int = 0

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> Training:
        """The settings a study stored (`StudyInfo.training`), keys this version lacks left out;
        a searched resolution comes back as its Param."""
        fields = {k: v for k, v in stored.items() if k in cls.__dataclass_fields__}
        if isinstance(fields.get("resolution"), Mapping):
            fields["resolution"] = Param.from_dict(fields["resolution"])
        return cls(**fields)

    @property
    def resolutions(self) -> list[int]:
        """Every resolution these settings train at, smallest first."""
        r = self.resolution
        return sorted(r.values()) if isinstance(r, Param) else [r]

    @property
    def resolution_label(self) -> str:
        """The resolution for people: `32px`, `24 or 32 px`, `24 to 64 px (step 8)`."""
        r = self.resolution
        if not isinstance(r, Param):
            return f"{r}px"
        if r.kind is ParamKind.CHOICES:
            *rest, last = self.resolutions
            return f"{', '.join(map(str, rest))} or {last} px (searched)"
        step = f", step {r.step}" if (r.step or 1) != 1 else ""
        return f"{r.low} to {r.high} px (searched{step})"

    def at(self, resolution: int) -> Training:
        """These settings at one resolution (a trial's: its ArchConfig's)."""
        return dataclasses.replace(self, resolution=resolution)

    def data_spec(self, *, resolution: int | None = None):
        """The data set these settings train on (`sqzdse.data.DataSpec`), at `resolution` (default:
        the fixed one, or the smallest one searched: the images' count and classes do not depend
        on it, but a network trains only on images of its own resolution)."""
        return DataSpec(
            name=self.dataset,
            root=self.data_root,
            resolution=self.resolutions[0] if resolution is None else resolution,
            train_per_class=self.train_per_class,
            val_per_class=self.val_per_class,
            seed=self.seed,
            val_fraction=self.val_fraction,
        )

    def train_config(self, *, device: str | None = None):
        """The trainer's settings (`sqzdse.train.TrainConfig`), on `device` (default: this one)."""
        optional: dict[str, Any] = {
            k: v for k, v in (("batch_size", self.batch_size), ("lr", self.lr)) if v is not None
        }
        return TrainConfig(
            epochs=self.epochs, seed=self.seed, device=device or self.device, **optional
        )


@dataclass(frozen=True)
class Fidelity:
    """The `fidelity` section: multi-objective successive halving over epochs (sqzdse.search).
    Rungs sit at min_epochs * eta**k epochs below the training epochs; at each, about 1/eta of the
    results recorded there go on. Defaults: docs/guides/multi-fidelity.md."""

    min_epochs: int = 1
    eta: int = 3


def rung_epochs(epochs: int, *, min_epochs: int, eta: int) -> tuple[int, ...]:
    """The epochs at which results are compared: min_epochs * eta**k for k = 0, 1, ... below
    `epochs` (a run that reaches `epochs` has finished, so no rung sits there)."""
    checks = (("epochs", epochs, 1), ("min_epochs", min_epochs, 1), ("eta", eta, 2))
    for name, value, least in checks:
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise ValueError(f"`{name}` must be an integer >= {least}, got {value!r}")
    rungs, rung = [], min_epochs
    while rung < epochs:
        rungs.append(rung)
        rung *= eta
    return tuple(rungs)


@dataclass(frozen=True)
class SamplerSpec:
    name: str = "tpe"
    seed: int = 0
    options: tuple[tuple[str, Any], ...] = ()


# Fields of the space that do not change what a trial measures: excluded from the space hash.
# `fidelity` decides which trials stop early, not what a completed trial measures (the schedule is
# the full budget's either way), and a stopped trial's rung values are those of its epoch.
RUN_SETTINGS = ("sampler", "n_trials", "timeout", "device", "description", "path", "fidelity")


@dataclass(frozen=True)
class SearchSpace:
    name: str
    metaparameters: dict[str, Param]
    pooling: Pooling = Pooling()
    bypass: Param = Param("bypass", ParamKind.FIXED, value="none")
    # ArchConfig fields: stem, modules, dropout; a searched stem field holds its Param
    network: dict[str, Any] = field(default_factory=dict)
    objectives: tuple[str, ...] | None = None  # None: "auto", decided from the data set
    constraints: dict[str, float] = field(default_factory=dict)
    sampler: SamplerSpec = SamplerSpec()
    training: Training = Training()
    n_trials: int = 16
    timeout: float | None = None
    description: str = ""
    path: str | None = None
    fidelity: Fidelity | None = None  # None: every trial trains for the full budget
    compression: CompressionSettings | None = None  # None: trials are not compressed
    quantization: QuantizationSettings | None = None  # None: trials are not quantized to int8

    @property
    def rungs(self) -> tuple[int, ...]:
        """The epochs at which trials are compared and some stopped (none at full fidelity)."""
        if self.fidelity is None:
            return ()
        f = self.fidelity
        return rung_epochs(self.training.epochs, min_epochs=f.min_epochs, eta=f.eta)

    @property
    def network_params(self) -> dict[str, Param]:
        """The searched network dimensions, the stem's and the module count (ArchConfig field ->
        Param), in suggestion order."""
        return {n: p for n in NETWORK_PARAMS if isinstance(p := self.network.get(n), Param)}

    def network_fields(self, stem: Mapping[str, int] | None = None) -> dict[str, Any]:
        """The network's ArchConfig fields with `stem` giving the searched network values (default:
        the first value of each); an unset padding under a searched kernel is kernel // 2."""
        fields = {k: v for k, v in self.network.items() if not isinstance(v, Param)}
        searched = self.network_params
        if stem is None:
            stem = {name: p.extremes()[0] for name, p in searched.items()}
        fields.update(stem)
        if "stem_kernel" in searched and "stem_padding" not in self.network:
            fields["stem_padding"] = fields["stem_kernel"] // 2
        return fields

    @property
    def resolution_param(self) -> Param | None:
        """The searched resolution (`training.resolution`), or None when it is fixed."""
        r = self.training.resolution
        return r if isinstance(r, Param) else None

    def base_config(
        self,
        num_classes: int,
        *,
        stem: Mapping[str, int] | None = None,
        resolution: int | None = None,
    ) -> ArchConfig:
        """v1.0 with the space's network, its most pools, `stem` and `resolution` (default: the
        fixed one, or the smallest one searched)."""
        return preset(
            "v1.0",
            num_classes=num_classes,
            resolution=self.training.resolutions[0] if resolution is None else resolution,
            pool_after=self.pooling.max_pools(),
            **self.network_fields(stem),
        )

    def suggest(self, trial, *, num_classes: int) -> ArchConfig:
        """A trial's architecture; the searched dimensions are suggested in a fixed order:
        metaparameters, pooling, bypass, the stem, the module count, then the resolution (so spaces
        that fix one sample as they did before it could be searched)."""
        values = {name: p.suggest(trial) for name, p in self.metaparameters.items()}
        pools = self.pooling.suggest(trial)
        bypass = self.bypass.suggest(trial)
        stem = {name: p.suggest(trial) for name, p in self.network_params.items()}
        searched = self.resolution_param
        resolution = None if searched is None else searched.suggest(trial)
        return self.base_config(num_classes, stem=stem, resolution=resolution).replace(
            **values, pool_after=pools, bypass=bypass
        )

    def searched_params(self) -> dict[str, list]:
        """Every searched Optuna parameter with all its values (for grid sampling)."""
        grid = {name: p.values() for name, p in self.metaparameters.items() if p.searched}
        if self.pooling.searched:
            if self.pooling.conv1 is Conv1Pool.SEARCH:
                grid["pool_conv1"] = [True, False]
            grid["pool_after"] = self.pooling.combinations()
        if self.bypass.searched:
            grid["bypass"] = self.bypass.values()
        grid.update({name: p.values() for name, p in self.network_params.items()})
        if self.resolution_param is not None:
            grid["resolution"] = self.resolution_param.values()
        return grid

    def resolve_objectives(self, num_classes: int) -> tuple[tuple[str, ...], str]:
        """The objectives to use and a note saying how they were chosen."""
        if self.objectives is not None:
            return self.objectives, ""
        if num_classes <= records.FEW_CLASSES:
            return (records.FEW_CLASSES_ACCURACY, records.DEFAULT_COST), (
                f"accuracy objective: top-1, because the data set has {num_classes} classes and "
                "top-5 is then near 1.0 for most networks; set `objectives: [top5, params]` to "
                "force top-5"
            )
        return (records.DEFAULT_ACCURACY, records.DEFAULT_COST), ""

    def with_overrides(self, **overrides) -> SearchSpace:
        """Apply overrides (the search's flags, by their keyword names): training fields
        (`train_seed` is the training seed), the sampler's name and `seed`, n_trials, timeout,
        min_epochs and eta; None means not given. Each given value is checked here, once, naming
        its flag; then the result is checked like a space file."""
        _check_overrides(overrides)
        training = {
            k: v
            for k, v in overrides.items()
            if k in Training.__dataclass_fields__ and k != "seed" and v is not None
        }
        if overrides.get("train_seed") is not None:
            training["seed"] = overrides["train_seed"]
        space = dataclasses.replace(self, training=dataclasses.replace(self.training, **training))
        if overrides.get("sampler") is not None:
            options = () if overrides["sampler"] != self.sampler.name else self.sampler.options
            space = dataclasses.replace(
                space, sampler=SamplerSpec(overrides["sampler"], self.sampler.seed, options)
            )
        if overrides.get("seed") is not None:
            space = dataclasses.replace(
                space, sampler=dataclasses.replace(space.sampler, seed=overrides["seed"])
            )
        for key in ("n_trials", "timeout"):
            if overrides.get(key) is not None:
                space = dataclasses.replace(space, **{key: overrides[key]})
        fidelity = {k: overrides[k] for k in ("min_epochs", "eta") if overrides.get(k) is not None}
        if fidelity:
            space = dataclasses.replace(
                space, fidelity=dataclasses.replace(space.fidelity or Fidelity(), **fidelity)
            )
        _validate_training(space.training, "training")
        _check_fidelity(space, flags=bool(fidelity))
        _check_after_training(space)
        _check_seed(space.sampler.seed, "sampler.seed")
        _check_architectures(space)
        _check_sampler_settings(space)
        return space

    def to_dict(self) -> dict:
        return json.loads(json.dumps(dataclasses.asdict(self), default=list))

    @property
    def hash(self) -> str:
        """Identifies what trials of this space measure; run settings do not change it."""
        d = self.to_dict()
        for section in ("compression", "quantization"):
            if d.get(section) is None:  # spaces from before the section keep their hashes
                d.pop(section, None)
        for key in RUN_SETTINGS:
            d.pop(key, None)
            d["training"].pop(key, None)
        if d["training"].get("lr") is None:  # spaces from before the setting keep their hashes
            d["training"].pop("lr", None)
        blob = json.dumps(d, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------- loading


class _SafeLoader(yaml.SafeLoader):
    """Safe YAML (no python tags) without aliases, so a small file cannot expand to gigabytes."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise SpaceError(
                f"line {event.start_mark.line + 1}: YAML aliases (*{event.anchor}) are "
                "not allowed in search spaces; write the value out"
            )
        return super().compose_node(parent, index)


def find_space(name_or_path: str) -> Path:
    """A path, or a bare name looked up in ./search_spaces/ and in the copies inside the package."""
    candidate = Path(name_or_path)
    if candidate.is_file():
        return candidate
    looked = [candidate]
    if candidate.parent == Path("."):
        here = Path(__file__).resolve().parent
        for folder in (Path(SPACES_DIR), here / SPACES_DIR, here.parent / SPACES_DIR):
            for name in (candidate.name, candidate.name + ".yaml"):
                looked.append(folder / name)
                if looked[-1].is_file():
                    return looked[-1]
    shipped = sorted(p.name for p in shipped_spaces())
    raise SpaceError(
        f"search space {name_or_path!r} not found (looked at "
        f"{', '.join(str(p) for p in looked)}); shipped spaces: {', '.join(shipped)}"
    )


def shipped_spaces() -> list[Path]:
    here = Path(__file__).resolve().parent
    for folder in (here / SPACES_DIR, here.parent / SPACES_DIR):
        if folder.is_dir():
            return sorted(folder.glob("*.yaml"))
    return []


def load_space(name_or_path: str) -> SearchSpace:
    path = find_space(name_or_path)
    if path.stat().st_size > MAX_SPACE_BYTES:
        raise SpaceError(
            f"{path}: {path.stat().st_size:,} bytes is too large for a search space "
            f"(at most {MAX_SPACE_BYTES:,})"
        )
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - a SafeLoader subclass
    except UnicodeDecodeError as err:
        raise SpaceError(f"{path}: not a UTF-8 text file ({err.reason})") from None
    except yaml.YAMLError as err:
        raise SpaceError(f"{path}: invalid YAML: {_yaml_problem(err)}") from None
    except SpaceError as err:
        raise SpaceError(f"{path}: {err}") from None
    try:
        return parse_space(data, default_name=path.stem, path=str(path))
    except SpaceError as err:
        raise SpaceError(f"{path}: {err}") from None


def _yaml_problem(err: yaml.YAMLError) -> str:
    mark = getattr(err, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    return f"{getattr(err, 'problem', None) or err}{where}"


def parse_space(data: Any, *, default_name: str = "space", path: str | None = None) -> SearchSpace:
    """Validate a loaded YAML document into a SearchSpace; SpaceError names what is wrong."""
    if not isinstance(data, dict):
        raise SpaceError(f"expected a mapping of settings at the top level, got {_kind(data)}")
    _check_keys(data, "", TOP_LEVEL_KEYS)
    name = data.get("name", default_name)
    if (
        not isinstance(name, str)
        or not name
        or not all(c.isalnum() or c in "-_." for c in name)
        or name.startswith(".")
    ):
        raise SpaceError(
            f"name: expected letters, digits, '-', '_' or '.' (not leading), got {name!r}"
        )

    metas = data.get("metaparameters")
    if not isinstance(metas, dict) or not metas:
        raise SpaceError(
            "metaparameters: expected a mapping of some of "
            f"{', '.join(METAPARAMETERS)}, got {metas!r}"
        )
    _check_keys(metas, "metaparameters", METAPARAMETERS)
    params = {
        key: _parse_param(node, f"metaparameters.{key}", integer=key in INT_METAPARAMETERS)
        for key, node in metas.items()
    }

    network = _parse_network(data.get("network", {}))
    num_modules = network.get("num_modules", preset("v1.0").num_modules)
    if isinstance(num_modules, Param):  # pools sit among the layers every network has
        num_modules = num_modules.values()[0]
    pooling = _parse_pooling(data.get("pooling"), num_modules)
    bypass = _parse_choice_param(data.get("bypass", "none"), "bypass", BYPASS_TYPES)
    objectives = _parse_objectives(data.get("objectives", "auto"))
    constraints = _parse_constraints(data.get("constraints", {}))
    sampler = _parse_sampler(data.get("sampler", {}))
    training = _parse_training(data.get("training", {}))
    fidelity = _parse_fidelity(data.get("fidelity"))
    compression = _parse_section(data.get("compression"), Source.COMPRESSED)
    quantization = _parse_section(data.get("quantization"), Source.QUANTIZED)
    n_trials = data.get("n_trials", 16)
    if not isinstance(n_trials, int) or isinstance(n_trials, bool) or n_trials < 1:
        raise SpaceError(f"n_trials: expected an integer >= 1, got {n_trials!r}")
    timeout = data.get("timeout")
    if timeout is not None and (not _is_number(timeout) or timeout <= 0):
        raise SpaceError(f"timeout: expected seconds > 0 or nothing, got {timeout!r}")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise SpaceError(f"description: expected text, got {description!r}")

    space = SearchSpace(
        name=name,
        metaparameters=params,
        pooling=pooling,
        bypass=bypass,
        network=network,
        objectives=objectives,
        constraints=constraints,
        sampler=sampler,
        training=training,
        n_trials=n_trials,
        timeout=timeout,
        description=description,
        path=path,
        fidelity=fidelity,
        compression=compression,
        quantization=quantization,
    )
    _check_fidelity(space, flags=False)
    _check_after_training(space)
    _check_architectures(space)
    _check_sampler_settings(space)
    return space


def _parse_network(node: Any) -> dict:
    if not isinstance(node, dict):
        raise SpaceError(f"network: expected a mapping, got {node!r}")
    _check_keys(node, "network", ("preset", "num_modules", "stem", "dropout"))
    out: dict[str, Any] = {}
    if "preset" in node:
        if node["preset"] not in PRESET_NAMES:
            raise SpaceError(
                f"network.preset: expected {' or '.join(PRESET_NAMES)}, got {node['preset']!r}"
            )
        base = preset(node["preset"])
        out.update(
            stem_filters=base.stem_filters,
            stem_kernel=base.stem_kernel,
            stem_stride=base.stem_stride,
        )
    if "num_modules" in node:  # a fixed value stays an int, as for the stem
        out["num_modules"] = _parse_int_field(node["num_modules"], "network.num_modules", 1)
    stem = node.get("stem", {})
    if not isinstance(stem, dict):
        raise SpaceError(
            f"network.stem: expected a mapping of filters, kernel, stride, padding, got {stem!r}"
        )
    _check_keys(stem, "network.stem", STEM_KEYS)
    for key, value in stem.items():  # a fixed value stays an int: fixed stems hash as before
        out[f"stem_{key}"] = _parse_int_field(
            value, f"network.stem.{key}", 0 if key == "padding" else 1
        )
    if "dropout" in node:
        dropout = node["dropout"]
        if not _is_number(dropout) or not 0 <= dropout < 1:
            raise SpaceError(f"network.dropout: expected a probability in [0, 1), got {dropout!r}")
        out["dropout"] = dropout
    return out


def _parse_int_field(node: Any, path: str, minimum: int) -> int | Param:
    """A network field (`network.num_modules`, `network.stem.<key>`): a fixed integer,
    `{choices: [...]}` or an integer range {low, high, step?}, drawn as its ArchConfig field."""
    if not isinstance(node, dict):
        _check_int(node, path, minimum=minimum)
        return node
    name = path.removeprefix("network.").replace("stem.", "stem_")
    return _parse_int_dimension(node, path, name=name, minimum=minimum)


def _parse_int_dimension(node: dict, path: str, *, name: str, minimum: int) -> Param:
    """A searched integer (network fields, the resolution): `{choices: [...]}` or an integer range
    {low, high, step?}, every value at least `minimum`; drawn as the Optuna parameter `name`."""
    param = dataclasses.replace(_parse_param(node, path, integer=True), name=name)
    if param.kind is ParamKind.CHOICES:
        for i, value in enumerate(param.choices):
            _check_int(value, f"{path}.choices[{i}]", minimum=minimum)
    else:
        _check_int(param.low, f"{path}.low", minimum=minimum)
    return param


def _parse_pooling(node: Any, num_modules: int) -> Pooling:
    layers = ("conv1", *(f"fire{i + 2}" for i in range(num_modules)))
    if node is None:
        return Pooling()
    if not isinstance(node, dict):
        raise SpaceError(
            f"pooling: expected a mapping with `after: [...]` or `among` and `count`, got {node!r}"
        )
    _check_keys(node, "pooling", ("after", "among", "count", "conv1"))
    if "after" in node:
        if set(node) - {"after"}:
            raise SpaceError(
                "pooling: give either fixed positions (`after`) or a searched layout "
                "(`among`, `count`, `conv1`), not both"
            )
        after = _layer_list(node["after"], "pooling.after", layers)
        return Pooling(fixed=tuple(after))
    if "among" not in node or "count" not in node:
        raise SpaceError(
            "pooling: a searched layout needs `among` (modules) and `count` "
            "(an integer or {low, high}); fixed positions go in `after`"
        )
    among = _layer_list(node["among"], "pooling.among", layers[1:])
    if not among:
        raise SpaceError("pooling.among: expected at least one Fire module")
    count = _parse_param(node["count"], "pooling.count", integer=True)
    if count.kind is ParamKind.FLOAT or (count.kind is ParamKind.INT and count.log):
        raise SpaceError("pooling.count: expected an integer, a list of choices or {low, high}")
    for k in count.values():
        if not 0 <= k <= len(among):
            raise SpaceError(
                f"pooling.count: {k} pools cannot be placed among {len(among)} "
                f"modules; expected 0 to {len(among)}"
            )
    conv1 = node.get("conv1", True)
    if conv1 not in (True, False, "search"):
        raise SpaceError(f"pooling.conv1: expected true, false or search, got {conv1!r}")
    return Pooling(fixed=None, among=tuple(among), count=count, conv1=Conv1Pool(str(conv1).lower()))


def _layer_list(node: Any, path: str, valid: tuple[str, ...]) -> list[str]:
    if not isinstance(node, list):
        raise SpaceError(f"{path}: expected a list of layer names, got {node!r}")
    for i, name in enumerate(node):
        if name not in valid:
            raise SpaceError(f"{path}[{i}]: unknown layer {name!r}; valid: {', '.join(valid)}")
    duplicates = sorted({n for n in node if node.count(n) > 1})
    if duplicates:
        raise SpaceError(f"{path}: {', '.join(duplicates)} listed more than once")
    return sorted(node, key=valid.index)


def _parse_objectives(node: Any) -> tuple[str, ...] | None:
    if node == "auto":
        return None
    allowed = ", ".join(OBJECTIVE_NAMES)
    if not isinstance(node, list) or len(node) < 2:
        raise SpaceError(
            f"objectives: expected `auto` or a list of 2 or more of {allowed}, got {node!r}"
        )
    for i, name in enumerate(node):
        if name not in OBJECTIVE_NAMES:
            raise SpaceError(f"objectives[{i}]: unknown objective {name!r}; valid: {allowed}")
    if len(set(node)) != len(node):
        raise SpaceError(f"objectives: {node!r} lists an objective more than once")
    return tuple(node)


def _parse_constraints(node: Any) -> dict[str, float]:
    if not isinstance(node, dict):
        raise SpaceError(
            f"constraints: expected a mapping of metric to maximum, e.g. "
            f"{{params: 1000000}}, got {node!r}"
        )
    _check_keys(node, "constraints", CONSTRAINT_METRICS)
    for key, value in node.items():
        if not _is_number(value) or value <= 0:
            raise SpaceError(f"constraints.{key}: expected a maximum > 0, got {value!r}")
    return dict(node)


def _parse_sampler(node: Any) -> SamplerSpec:
    if isinstance(node, str):
        node = {"name": node}
    if not isinstance(node, dict):
        raise SpaceError(
            f"sampler: expected a name or a mapping with `name`, `seed` and options, got {node!r}"
        )
    name = node.get("name", "tpe")
    seed = node.get("seed", 0)
    _check_seed(seed, "sampler.seed")
    options = tuple(sorted((k, v) for k, v in node.items() if k not in ("name", "seed")))
    from sqzdse.samplers import check_sampler  # validates name and options against the registry

    check_sampler(name, dict(options), path="sampler")
    return SamplerSpec(name=name, seed=seed, options=options)


def _parse_training(node: Any) -> Training:
    if not isinstance(node, dict):
        raise SpaceError(f"training: expected a mapping, got {node!r}")
    _check_keys(node, "training", tuple(Training.__dataclass_fields__))
    if isinstance(node.get("resolution"), dict):
        searched = _parse_int_dimension(
            node["resolution"], "training.resolution", name="resolution", minimum=MIN_RESOLUTION
        )
        node = {**node, "resolution": searched}
    training = Training(**node)
    _validate_training(training, "training")
    return training


def _parse_fidelity(node: Any) -> Fidelity | None:
    if node is None:
        return None
    if not isinstance(node, dict):
        raise SpaceError(
            f"fidelity: expected a mapping such as {{min_epochs: 1, eta: 3}}, got {node!r}"
        )
    _check_keys(node, "fidelity", tuple(Fidelity.__dataclass_fields__))
    return Fidelity(**node)  # checked with the training epochs: `_check_fidelity`


# Sections that measure every trained trial once training has ended: (section, its settings
# class, an example for messages, what it does) per source of the metrics they measure.
AFTER_TRAINING = {
    Source.COMPRESSED: (
        "compression",
        CompressionSettings,
        "{density: 0.33, bits: 6, finetune_epochs: 3}",
        "saying how each trial is compressed",
    ),
    Source.QUANTIZED: (
        "quantization",
        QuantizationSettings,
        "{calibration_images: 256}",
        "saying that each trained trial is quantized to int8",
    ),
}


def _parse_section(node: Any, source: Source):
    """The settings of the section that measures `source`'s metrics; None when absent."""
    section, settings, example, _ = AFTER_TRAINING[source]
    if node is None:
        return None
    if not isinstance(node, dict):
        raise SpaceError(f"{section}: expected a mapping such as {example}, got {node!r}")
    _check_keys(node, section, tuple(f.name for f in dataclasses.fields(settings)))
    try:
        return settings(**node)
    except SqzdseError as err:
        raise SpaceError(f"{section}.{err}") from None


def _check_after_training(space: SearchSpace) -> None:
    """Compressed and int8 metrics exist only with their section, and only once a trial is
    trained to the end: a rung cannot rank them."""
    for source, (section, _, example, does) in AFTER_TRAINING.items():
        named = [m for m in space.objectives or () if m in metrics_of(source=source)]
        if named and getattr(space, section) is None:
            raise SpaceError(
                f"objectives: {', '.join(named)} needs a `{section}` section (e.g. {example}) "
                f"{does}"
            )
        if named and space.fidelity is not None:
            raise SpaceError(
                f"objectives: {', '.join(named)} is measured after training ends, so successive "
                "halving cannot rank trials by it at a rung: leave `fidelity` out, or use "
                "objectives known at every epoch"
            )


def _check_fidelity(space: SearchSpace, *, flags: bool) -> None:
    """Successive halving needs a rung below the training epochs, or it would stop nothing."""
    f = space.fidelity
    if f is None:
        return
    names = ("--min-epochs", "--eta") if flags else ("fidelity.min_epochs", "fidelity.eta")
    _check_int(f.min_epochs, names[0], minimum=1)
    _check_int(f.eta, names[1], minimum=2)
    if f.min_epochs >= space.training.epochs:
        raise SpaceError(
            f"{names[0]}: {f.min_epochs} is not below the training epochs "
            f"({space.training.epochs}), so no trial could stop early; choose 1 to "
            f"{space.training.epochs - 1}, or leave `fidelity` out for full-fidelity trials"
        )


# Overrides that are counts (>= 1); seeds and the timeout are checked apart.
_COUNT_OVERRIDES = (
    "n_trials",
    "epochs",
    "resolution",
    "train_per_class",
    "val_per_class",
    "batch_size",
)


def override_names() -> tuple[str, ...]:
    """What `SearchSpace.with_overrides` takes: the training fields (the training seed as
    `train_seed`), the sampler and its seed, n_trials, timeout, min_epochs and eta."""
    training = tuple(f.name for f in dataclasses.fields(Training) if f.name != "seed")
    return (*training, "train_seed", "sampler", "seed", "n_trials", "timeout", "min_epochs", "eta")


def _check_overrides(overrides: Mapping[str, Any]) -> None:
    """SpaceError naming the flag (`--epochs`) of a given override out of range, or an override
    that is not one."""
    unknown = sorted(set(overrides) - set(override_names()))
    if unknown:
        raise SpaceError(
            f"unknown setting {', '.join(map(repr, unknown))}; the settings a search takes: "
            f"{', '.join(override_names())}"
        )
    given = {k: v for k, v in overrides.items() if v is not None}
    for key in _COUNT_OVERRIDES:
        if key in given and given[key] < 1:
            raise SpaceError(f"{_flag(key)} must be >= 1, got {given[key]}")
    for key in ("seed", "train_seed"):
        if key in given and not 0 <= given[key] <= MAX_SEED:
            raise SpaceError(
                f"{_flag(key)} must be an integer from 0 to {MAX_SEED}, got {given[key]}"
            )
    if "timeout" in given and not (math.isfinite(given["timeout"]) and given["timeout"] > 0):
        raise SpaceError(
            f"--timeout must be a finite number of seconds > 0, got {given['timeout']}"
        )
    if "sampler" in given:
        from sqzdse.samplers import check_sampler

        check_sampler(given["sampler"], {}, name_path="--sampler")


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def _validate_training(t: Training, path: str) -> None:
    if not isinstance(t.dataset, str):
        raise SpaceError(f"{path}.dataset: expected a data set name, got {t.dataset!r}")
    if t.data_root is not None and not isinstance(t.data_root, str):
        raise SpaceError(f"{path}.data_root: expected a folder path, got {t.data_root!r}")
    if not isinstance(t.resolution, Param):  # a searched one was checked as it was parsed
        _check_int(t.resolution, f"{path}.resolution", minimum=MIN_RESOLUTION)
    _check_int(t.epochs, f"{path}.epochs", minimum=1)
    _check_seed(t.seed, f"{path}.seed")
    for key in ("train_per_class", "val_per_class", "batch_size"):
        if getattr(t, key) is not None:
            _check_int(getattr(t, key), f"{path}.{key}", minimum=1)
    f = t.val_fraction
    if f is not None and (not _is_number(f) or not 0 < f <= 0.5):
        raise SpaceError(f"{path}.val_fraction: expected a fraction in (0, 0.5], got {f!r}")
    if t.lr is not None and (not _is_number(t.lr) or not 0 < t.lr <= 1):
        raise SpaceError(f"{path}.lr: expected a peak learning rate in (0, 1], got {t.lr!r}")
    if not is_device_spec(t.device):
        raise SpaceError(f"{path}.device: expected {DEVICES}, got {t.device!r}")


def _check_sampler_settings(space: SearchSpace) -> None:
    """Build the sampler once, as the search will: options out of range, a seed it refuses, or a
    continuous range that a grid or brute-force sampler cannot enumerate are found here."""
    from sqzdse.samplers import make_sampler

    sampler = space.sampler
    if sampler.name in ("grid", "bruteforce"):
        space.searched_params()  # SpaceError naming a range without `step`
    try:
        make_sampler(
            sampler.name,
            seed=sampler.seed,
            options=dict(sampler.options),
            grid=space.searched_params,
        )
    except (ValueError, TypeError) as err:
        raise SpaceError(
            f"sampler: the {sampler.name} sampler refuses these settings "
            f"({dict(sampler.options) or 'no options'}): {err}"
        ) from None


def _check_architectures(space: SearchSpace) -> None:
    """Every value of every dimension must make a valid network; the most pools must not vanish,
    whichever stem the space allows, at the smallest resolution it allows (a feature map only
    shrinks with the input)."""
    smallest = space.training.resolutions[0]
    searched = space.resolution_param is not None
    where = (
        f"at {smallest} px, the smallest resolution this space searches (training.resolution)"
        if searched
        else f"at training resolution {smallest}"
    )
    remedy = ", raise the smallest resolution" if searched else ""
    for stem in _stem_extremes(space):
        try:
            space.base_config(num_classes=10, stem=stem)
        except ArchError as err:
            cfg = space.network_fields(stem)
            k = cfg.get("stem_kernel", preset("v1.0").stem_kernel)
            raise SpaceError(
                f"network.stem: {where}, the stem "
                f"{k}x{k}/{cfg.get('stem_stride', preset('v1.0').stem_stride)} with padding "
                f"{cfg.get('stem_padding', preset('v1.0').stem_padding)} and the most pools this "
                f"space allows (after {', '.join(space.pooling.max_pools()) or 'none'}) makes an "
                f"invalid network: {err}; narrow the stem's values{remedy} or allow fewer pools"
            ) from None
    try:
        base = space.base_config(num_classes=10)
    except ArchError as err:
        if searched:
            raise SpaceError(
                f"training.resolution: {smallest} px, the smallest resolution this space "
                "searches, is too small for the most pools it allows (after "
                f"{', '.join(space.pooling.max_pools()) or 'none'}): {err}; raise the smallest "
                "resolution or allow fewer pools"
            ) from None
        raise SpaceError(f"pooling: {where}, {err}") from None
    dimensions = {f"metaparameters.{name}": p for name, p in space.metaparameters.items()}
    if "num_modules" in space.network_params:
        dimensions["network.num_modules"] = space.network_params["num_modules"]
    for path, param in dimensions.items():
        for value in param.extremes():
            try:
                base.replace(**{param.name: value})
            except ArchError as err:
                raise SpaceError(f"{path}: {value!r} is not valid: {err}") from None


def _stem_extremes(space: SearchSpace) -> list[dict[str, int]]:
    """Searched stem values that between them reach the smallest feature maps: every choice, and
    the two lowest and two highest values of a range (the feature map shrinks with the kernel and
    the stride and grows with the padding, but under same padding it depends on the kernel's parity
    only, so both parities are checked). Empty when the stem is fixed."""
    values = {}
    for name, p in space.network_params.items():
        if name not in STEM_PARAMS:
            continue
        every = p.values()
        values[name] = every if p.kind is ParamKind.CHOICES else sorted({*every[:2], *every[-2:]})
    if not values:
        return []
    return [dict(zip(values, combo)) for combo in itertools.product(*values.values())]


# ---------------------------------------------------------------------------- small checks


def _kind(x: Any) -> str:
    return {list: "a list", str: "text", type(None): "nothing"}.get(type(x), repr(x))


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _check_number(x: Any, path: str, *, integer: bool) -> None:
    if integer and (not isinstance(x, int) or isinstance(x, bool)):
        raise SpaceError(f"{path}: expected an integer, got {x!r}")
    if not _is_number(x):
        raise SpaceError(f"{path}: expected a number, got {x!r}")


def _check_int(x: Any, path: str, *, minimum: int) -> None:
    if not isinstance(x, int) or isinstance(x, bool) or x < minimum:
        raise SpaceError(f"{path}: expected an integer >= {minimum}, got {x!r}")


MAX_SEED = 2**32 - 1  # NumPy's generators, which Optuna's samplers use, take seeds up to this


def _check_seed(x: Any, path: str) -> None:
    if not isinstance(x, int) or isinstance(x, bool) or not 0 <= x <= MAX_SEED:
        raise SpaceError(f"{path}: expected an integer from 0 to {MAX_SEED} (2**32 - 1), got {x!r}")


def _check_keys(node: dict, path: str, allowed: tuple[str, ...]) -> None:
    for key in node:
        if key not in allowed:
            where = f"{path}.{key}" if path else str(key)
            raise SpaceError(f"{where}: unknown key; allowed here: {', '.join(allowed)}")


__all__ = [
    "SearchSpace",
    "Param",
    "Pooling",
    "Training",
    "Fidelity",
    "SamplerSpec",
    "load_space",
    "parse_space",
    "find_space",
    "shipped_spaces",
]
