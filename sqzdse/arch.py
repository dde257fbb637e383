"""The SqueezeNet design space as data: configurations, per-module specs and exact analytic counts.

Everything here is pure and imports no torch, so validity, parameter counts and multiply-accumulates
are known before any training. Formulas (paper section 5.1), for Fire module i = 0..n-1:

    e_i     = base_e + incr_e * floor(i / freq)
    e_i,3x3 = round_half_up(pct_3x3 * e_i),   e_i,1x1 = e_i - e_i,3x3
    s_i,1x1 = max(1, round_half_up(sr * e_i))

round_half_up(x) = floor(x + 1/2), evaluated exactly on the decimal value the user wrote (0.125 * 4
is exactly 0.5 and rounds to 1). Other write-ups round differently, so their tables can differ.

Memory of the int8 network on a microcontroller (`sram_operators`, `flash_bytes`): activations
take 1 byte per element, ReLU is fused into its convolution, operators run in network order and the
peak SRAM is the largest sum of the tensors alive during one operator; flash holds int8 weights,
int32 biases and one float32 scale per output channel of every convolution.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import math
import typing
from dataclasses import dataclass, field
from fractions import Fraction

from sqzdse.errors import ArchError

BYPASS_TYPES = ("none", "simple", "complex")
POOL_KERNEL = 3
POOL_STRIDE = 2
ACTIVATION_BYTES = 1  # int8 activations
INT32_BYTES = 4  # a bias
FLOAT32_BYTES = 4  # a per-channel scale


class Group(enum.Enum):
    """What an architecture field is, which decides where it appears."""

    METAPARAMETER = "metaparameter"  # the paper's five (section 5.1)
    LAYOUT = "layout"  # the modules, where the max-pools sit, the bypass
    STEM = "stem"  # conv1
    DATA = "data"  # set by the data set: classes, input size, channels
    TRAINING = "training"  # no effect on the counts (dropout)


# Groups whose fields are design choices a search varies (the trials frame's design columns, the
# dashboard's colour and table columns), and those `sqzdse train` is always given.
DESIGN_GROUPS = (Group.METAPARAMETER, Group.LAYOUT, Group.STEM)
COMMAND_GROUPS = (Group.METAPARAMETER, Group.LAYOUT, Group.DATA)


def _field(default, group: Group, meaning: str, **info):
    """An ArchConfig field with its metadata: `ArchField`'s fields beyond name and type."""
    return field(default=default, metadata={"sqzdse": {"group": group, "meaning": meaning, **info}})


@dataclass(frozen=True)
class ArchConfig:
    """One network of the design space. Validated on construction; frozen and hashable.

    Each field carries its metadata (`ARCH_FIELDS`): adding an architecture dimension is one field
    here plus the code that uses it (`_validate`, `resolve` and the counts, `model.py`)."""

    base_e: int = _field(128, Group.METAPARAMETER, "expand filters of the first Fire module")
    incr_e: int = _field(128, Group.METAPARAMETER, "expand filters added every `freq` modules")
    pct_3x3: float = _field(
        0.5, Group.METAPARAMETER, "fraction of expand filters that are 3x3", flag_help="in [0, 1]"
    )
    freq: int = _field(
        2, Group.METAPARAMETER, "Fire modules between increments of the expand filters"
    )
    sr: float = _field(
        0.125,
        Group.METAPARAMETER,
        "squeeze ratio: squeeze filters / expand filters",
        label="squeeze ratio (sr)",
    )
    num_modules: int = _field(
        8, Group.LAYOUT, "number of Fire modules", label="Fire modules", short="modules"
    )
    pool_after: tuple[str, ...] = _field(
        ("conv1", "fire4", "fire8"),
        Group.LAYOUT,
        "layers followed by a max-pool, comma-joined in network order ('' for none)",
        label="pools after",
        short="pools",
    )
    bypass: str = _field(
        "none", Group.LAYOUT, "bypass type: none, simple or complex", choices=BYPASS_TYPES
    )
    num_classes: int = _field(1000, Group.DATA, "classifier outputs")
    resolution: int = _field(224, Group.DATA, "input height = width in pixels")
    in_channels: int = _field(3, Group.DATA, "input channels", column=False, flag=False)
    stem_filters: int = _field(
        96, Group.STEM, "filters of the stem convolution (conv1)", label="stem filters"
    )
    stem_kernel: int = _field(
        7, Group.STEM, "kernel side of the stem convolution", label="stem kernel"
    )
    stem_stride: int = _field(2, Group.STEM, "stride of the stem convolution", label="stem stride")
    stem_padding: int = _field(
        0,
        Group.STEM,
        "zero padding of the stem convolution, in pixels per side",
        label="stem padding",
    )
    dropout: float = _field(
        0.5,
        Group.TRAINING,
        "dropout before the classifier",
        flag_help="in [0, 1); no effect on the counts",
        column=False,
    )

    def __post_init__(self) -> None:
        # Accept any iterable of names (a list from YAML or JSON) and keep the layer order.
        object.__setattr__(self, "pool_after", tuple(self.pool_after))
        _validate(self)
        object.__setattr__(self, "pool_after", tuple(sorted(self.pool_after, key=_layer_index)))
        resolve(self)  # raises ArchError when the feature map vanishes

    def replace(self, **changes) -> ArchConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["pool_after"] = list(self.pool_after)
        return d

    @classmethod
    def from_dict(cls, data: dict) -> ArchConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ArchError(
                f"unknown architecture field(s) {unknown}; valid fields: {sorted(names)}"
            )
        return cls(**data)

    @property
    def module_names(self) -> tuple[str, ...]:
        return tuple(f"fire{i + 2}" for i in range(self.num_modules))

    @property
    def layer_names(self) -> tuple[str, ...]:
        """Names a pool may follow, in network order: conv1, fire2, fire3, ..."""
        return ("conv1", *self.module_names)


@dataclass(frozen=True, kw_only=True)
class ArchField:
    """One architecture field as the rest of the package sees it: its column in the trials frame
    and exports, its `sqzdse train` / `count` flag, its labels in the dashboard."""

    name: str
    type: type  # int, float, str, or tuple for pool_after
    group: Group
    meaning: str  # the column's meaning; with `flag_help`, the flag's help
    label: str = ""  # for people (colour legend, hover); the name when empty
    short: str = ""  # a table header; the name when empty
    flag_help: str = ""  # added to the meaning in the flag's help
    choices: tuple[str, ...] = ()  # the valid values of a text field; () when any
    column: bool = True  # a column of the trials frame and of every export
    flag: bool = True  # a `--flag` of the commands that build a network

    def __post_init__(self) -> None:
        object.__setattr__(self, "label", self.label or self.name)
        object.__setattr__(self, "short", self.short or self.name)

    @property
    def flag_name(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def design(self) -> bool:
        """A design choice a search varies (not set by the data set or the training)."""
        return self.group in DESIGN_GROUPS

    @property
    def dtype(self) -> str:
        """The pandas dtype of its column."""
        return {int: "Int64", float: "float64"}.get(self.type, "string")


def _arch_fields() -> tuple[ArchField, ...]:
    types = typing.get_type_hints(ArchConfig)
    return tuple(
        ArchField(
            name=f.name,
            type=typing.get_origin(types[f.name]) or types[f.name],
            **f.metadata["sqzdse"],
        )
        for f in dataclasses.fields(ArchConfig)
    )


# In ArchConfig's order; `fields_of` selects.
ARCH_FIELDS: tuple[ArchField, ...] = _arch_fields()


def fields_of(*groups: Group, column: bool | None = None) -> tuple[ArchField, ...]:
    """The fields of `groups` (every group when none is named), in group order then field order,
    the order of the trials frame's columns; `column` keeps only columns (True) or non-columns."""
    order = groups or tuple(Group)
    return tuple(
        f
        for group in order
        for f in ARCH_FIELDS
        if f.group is group and (column is None or f.column == column)
    )


def arch_field(name: str) -> ArchField:
    return next(f for f in ARCH_FIELDS if f.name == name)


PRESETS: dict[str, ArchConfig] = {}


def preset(name: str, **overrides) -> ArchConfig:
    """A named reference network, optionally with fields replaced: `v1.0` or `v1.1`."""
    if name not in PRESETS:
        raise ArchError(f"unknown preset {name!r}; valid presets: {', '.join(PRESETS)}")
    return dataclasses.replace(PRESETS[name], **overrides)


@dataclass(frozen=True)
class FireSpec:
    """One resolved Fire module: filter counts, channels, spatial size and its shortcut (what the
    network's bypass type puts around this module)."""

    name: str
    index: int
    in_channels: int
    s1x1: int
    e1x1: int
    e3x3: int
    size: int  # input and output height = width (Fire modules keep the spatial size)
    shortcut: str  # "none", "identity" or "conv"
    pool_after: bool

    @property
    def out_channels(self) -> int:
        return self.e1x1 + self.e3x3


@dataclass(frozen=True)
class LayerRow:
    """One row of the layer table: a layer of the deployable network (no BatchNorm)."""

    name: str
    kind: str  # conv, pool, fire, bypass, dropout, avgpool
    out_channels: int
    out_size: int
    filters: str
    params: int  # weights + biases
    macs: int
    bypass: str = ""
    biases: int = 0  # one per output channel of each of its convolutions (a Fire module has 3)

    @property
    def activations(self) -> int:
        return self.out_channels * self.out_size * self.out_size

    @property
    def weights(self) -> int:
        return self.params - self.biases

    @property
    def flash_bytes(self) -> int:
        """int8 weights, int32 biases and a float32 scale per output channel (per-channel
        quantization: one scale for each bias)."""
        return self.weights + INT32_BYTES * self.biases + FLOAT32_BYTES * self.biases


@dataclass(frozen=True)
class SramOp:
    """One operator of the int8 network and the activation tensors in SRAM while it runs, as
    (tensor, bytes) pairs at 1 byte per element.

    conv1, each max-pool, conv10 and the average pool hold `input` and `output`. A Fire module
    with input `x` runs as `<fire>.squeeze` (x + s), `<fire>.expand1x1` and `<fire>.expand3x3`,
    each writing its slice of the one concatenated output `c` (s + c, plus x while a bypass still
    needs it), then `<fire>.bypass` (x + c: the identity add, or the 1x1 convolution accumulated
    into c). An expand with 0 filters is absent; dropout does nothing at inference.
    """

    name: str
    alive: tuple[tuple[str, int], ...]

    @property
    def bytes(self) -> int:
        return sum(size for _, size in self.alive)


@dataclass(frozen=True)
class Resolved:
    """An ArchConfig worked out layer by layer."""

    config: ArchConfig
    stem_size: int  # conv1 output size
    fires: tuple[FireSpec, ...]
    layers: tuple[LayerRow, ...] = field(repr=False)

    @property
    def params(self) -> int:
        return sum(r.params for r in self.layers)

    @property
    def macs(self) -> int:
        return sum(r.macs for r in self.layers)

    @property
    def peak_activations(self) -> int:
        """Elements of the largest single layer output (not what a runtime allocates: see
        `peak_sram_bytes`)."""
        return max(r.activations for r in self.layers)

    @property
    def sram_operators(self) -> tuple[SramOp, ...]:
        return sram_operators(self)

    @property
    def peak_sram_op(self) -> SramOp:
        """The first operator with the most bytes alive."""
        return max(self.sram_operators, key=lambda op: op.bytes)

    @property
    def peak_sram_bytes(self) -> int:
        return self.peak_sram_op.bytes

    @property
    def flash_bytes(self) -> int:
        return sum(r.flash_bytes for r in self.layers)


# ---------------------------------------------------------------------------- validation


def _layer_index(name: str) -> int:
    return 0 if name == "conv1" else int(name[4:]) - 1


def _validate(cfg: ArchConfig) -> None:
    def require(ok: bool, field_name: str, allowed: str) -> None:
        if not ok:
            raise ArchError(f"`{field_name}` must be {allowed}, got {getattr(cfg, field_name)!r}")

    for name in (
        "base_e",
        "incr_e",
        "freq",
        "num_modules",
        "num_classes",
        "resolution",
        "in_channels",
        "stem_filters",
        "stem_kernel",
        "stem_stride",
        "stem_padding",
    ):
        value = getattr(cfg, name)
        require(isinstance(value, int) and not isinstance(value, bool), name, "an integer")
    for name in ("pct_3x3", "sr", "dropout"):
        value = getattr(cfg, name)
        require(
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value),
            name,
            "a finite number",
        )
    require(cfg.base_e >= 1, "base_e", "a positive number of filters (>= 1)")
    require(cfg.incr_e >= 0, "incr_e", "a non-negative number of filters (>= 0)")
    require(0 <= cfg.pct_3x3 <= 1, "pct_3x3", "a fraction in [0, 1]")
    require(cfg.sr > 0, "sr", "a squeeze ratio > 0")
    require(cfg.freq >= 1, "freq", "an integer >= 1")
    require(cfg.num_modules >= 1, "num_modules", "an integer >= 1")
    require(cfg.num_classes >= 1, "num_classes", "an integer >= 1")
    require(cfg.resolution >= 1, "resolution", "a positive number of pixels")
    require(cfg.in_channels >= 1, "in_channels", "an integer >= 1")
    require(cfg.stem_filters >= 1, "stem_filters", "a positive number of filters (>= 1)")
    require(cfg.stem_kernel >= 1, "stem_kernel", "an integer >= 1")
    require(cfg.stem_stride >= 1, "stem_stride", "an integer >= 1")
    require(cfg.stem_padding >= 0, "stem_padding", "an integer >= 0")
    require(0 <= cfg.dropout < 1, "dropout", "a probability in [0, 1)")
    require(cfg.bypass in BYPASS_TYPES, "bypass", f"one of {', '.join(BYPASS_TYPES)}")

    valid = cfg.layer_names
    for name in cfg.pool_after:
        if name not in valid:
            raise ArchError(
                f"`pool_after` names unknown layer {name!r}; valid layers: {', '.join(valid)}"
            )
    duplicates = sorted(
        {n for n in cfg.pool_after if cfg.pool_after.count(n) > 1}, key=_layer_index
    )
    if duplicates:
        raise ArchError(
            f"`pool_after` lists {', '.join(duplicates)} more than once; "
            "each layer can be followed by one pool"
        )


# ---------------------------------------------------------------------------- resolution


@functools.lru_cache(maxsize=1024)
def _exact(x: float) -> tuple[int, int]:
    """The decimal value the user wrote as (numerator, denominator): 0.1 is 1/10, not the binary
    float nearest to it, so that exact halves round up as documented."""
    ratio = Fraction(repr(x))
    return ratio.numerator, ratio.denominator


def scaled_round_half_up(ratio: float, filters: int) -> int:
    """floor(ratio * filters + 1/2), in exact integer arithmetic."""
    num, den = _exact(ratio)
    return (2 * num * filters + den) // (2 * den)


def expand_filters(cfg: ArchConfig, i: int) -> int:
    """e_i = base_e + incr_e * floor(i / freq)."""
    return cfg.base_e + cfg.incr_e * (i // cfg.freq)


def fire_filters(cfg: ArchConfig, i: int) -> tuple[int, int, int]:
    """(s1x1, e1x1, e3x3) of Fire module i by the formulas and the rounding rule."""
    e = expand_filters(cfg, i)
    e3 = scaled_round_half_up(cfg.pct_3x3, e)
    s = max(1, scaled_round_half_up(cfg.sr, e))
    return s, e - e3, e3


def conv_out(size: int, kernel: int, stride: int, padding: int = 0) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def pool_out(size: int) -> int:
    """Max-pool 3x3 stride 2, ceil mode, no padding: PyTorch's output size rule."""
    out = -(-(size - POOL_KERNEL) // POOL_STRIDE) + 1
    if (out - 1) * POOL_STRIDE >= size:  # last window must start inside the input
        out -= 1
    return out


def _conv_row(name, in_ch, out_ch, kernel, out_size, filters, bypass="") -> LayerRow:
    params = out_ch * (in_ch * kernel * kernel + 1)
    macs = out_ch * in_ch * kernel * kernel * out_size * out_size
    return LayerRow(name, "conv", out_ch, out_size, filters, params, macs, bypass, biases=out_ch)


def _pool_row(name: str, channels: int, in_size: int, after: str) -> LayerRow:
    out = pool_out(in_size)
    if out < 1:
        raise ArchError(
            f"the feature map vanishes at the max-pool after {after}: its input is "
            f"{in_size}x{in_size}, too small for a 3x3 stride-2 pool; use a larger "
            "`resolution` or fewer pools"
        )
    return LayerRow(name, "pool", channels, out, "3x3/2", 0, 0)


def resolve(cfg: ArchConfig) -> Resolved:
    """Work out every layer of `cfg`: filter counts, channels, sizes, parameters and MACs."""
    pools = set(cfg.pool_after)
    size = conv_out(cfg.resolution, cfg.stem_kernel, cfg.stem_stride, cfg.stem_padding)
    if size < 1:
        raise ArchError(
            f"the feature map vanishes at conv1: a {cfg.resolution}x{cfg.resolution} "
            f"input is smaller than its {cfg.stem_kernel}x{cfg.stem_kernel} kernel; "
            "use a larger `resolution`"
        )
    stem_size = size
    k = cfg.stem_kernel
    rows = [
        _conv_row(
            "conv1",
            cfg.in_channels,
            cfg.stem_filters,
            k,
            size,
            f"{cfg.stem_filters} {k}x{k}/{cfg.stem_stride}",
        )
    ]
    if "conv1" in pools:
        rows.append(_pool_row("maxpool1", cfg.stem_filters, size, "conv1"))
        size = rows[-1].out_size

    channels = cfg.stem_filters
    fires = []
    for i, name in enumerate(cfg.module_names):
        s, e1, e3 = fire_filters(cfg, i)
        out_ch = e1 + e3
        shortcut = "none"
        if cfg.bypass != "none":
            if channels == out_ch:
                shortcut = "identity"
            elif cfg.bypass == "complex":
                shortcut = "conv"
        spec = FireSpec(name, i, channels, s, e1, e3, size, shortcut, name in pools)
        fires.append(spec)
        params = s * (channels + 1) + e1 * (s + 1) + e3 * (s * 9 + 1)
        macs = (s * channels + e1 * s + e3 * s * 9) * size * size
        rows.append(
            LayerRow(
                name,
                "fire",
                out_ch,
                size,
                f"{s}/{e1}/{e3}",
                params,
                macs,
                shortcut if shortcut != "none" else "",
                biases=s + e1 + e3,
            )
        )
        if shortcut == "conv":
            rows.append(_conv_row(f"{name}_bypass", channels, out_ch, 1, size, f"{out_ch} 1x1"))
        if spec.pool_after:
            rows.append(_pool_row(f"maxpool{i + 2}", out_ch, size, name))
            size = rows[-1].out_size
        channels = out_ch

    if cfg.dropout > 0:
        rows.append(LayerRow("dropout", "dropout", channels, size, f"p={cfg.dropout:g}", 0, 0))
    rows.append(_conv_row("conv10", channels, cfg.num_classes, 1, size, f"{cfg.num_classes} 1x1"))
    rows.append(LayerRow("avgpool", "avgpool", cfg.num_classes, 1, "global", 0, 0))
    return Resolved(cfg, stem_size, tuple(fires), tuple(rows))


def sram_operators(resolved: Resolved) -> tuple[SramOp, ...]:
    """Every operator of the int8 network in order, with the bytes alive while it runs (see
    `SramOp`). The peak SRAM is the largest `bytes` among them."""
    cfg = resolved.config
    fires = {f.name: f for f in resolved.fires}
    bypass_rows = {f"{f.name}_bypass" for f in resolved.fires}
    current = cfg.in_channels * cfg.resolution * cfg.resolution * ACTIVATION_BYTES
    ops: list[SramOp] = []
    for row in resolved.layers:
        if row.kind == "dropout" or row.name in bypass_rows:
            continue  # a no-op at inference; a bypass convolution goes with its module
        out = row.activations * ACTIVATION_BYTES
        if row.kind == "fire":
            spec = fires[row.name]
            x, s, c = current, spec.s1x1 * spec.size * spec.size * ACTIVATION_BYTES, out
            keep = (("x", x),) if spec.shortcut != "none" else ()
            ops.append(SramOp(f"{row.name}.squeeze", (("x", x), ("s", s))))
            for branch, filters in (("expand1x1", spec.e1x1), ("expand3x3", spec.e3x3)):
                if filters:
                    ops.append(SramOp(f"{row.name}.{branch}", (("s", s), ("c", c), *keep)))
            if keep:
                ops.append(SramOp(f"{row.name}.bypass", (("x", x), ("c", c))))
        else:
            ops.append(SramOp(row.name, (("input", current), ("output", out))))
        current = out
    return tuple(ops)


def peak_sram_bytes(cfg: ArchConfig) -> int:
    """Peak bytes of int8 activations alive during one operator (`sram_operators`)."""
    return resolve(cfg).peak_sram_bytes


def flash_bytes(cfg: ArchConfig) -> int:
    """Bytes of the int8 network's constants: int8 weights, int32 biases, float32 scales."""
    return resolve(cfg).flash_bytes


def count_params(cfg: ArchConfig) -> int:
    """Parameters of the deployable network (BatchNorm folded away)."""
    return resolve(cfg).params


def count_macs(cfg: ArchConfig) -> int:
    """Multiply-accumulates of the convolutions for one image at `cfg.resolution`."""
    return resolve(cfg).macs


def layer_table(cfg: ArchConfig) -> list[dict]:
    """The layer table as plain data (what `sqzdse count --json` prints): one dict per layer."""
    return [
        {
            "name": row.name,
            "kind": row.kind,
            "output_shape": [row.out_channels, row.out_size, row.out_size],
            "filters": row.filters,
            "params": row.params,
            "macs": row.macs,
            "activations": row.activations,
            "bypass": row.bypass,
        }
        for row in resolve(cfg).layers
    ]


def model_size_bytes(params: int, bits: int = 32) -> int:
    """Size of the weights at `bits` per parameter, before entropy coding."""
    return math.ceil(params * bits / 8)


PRESETS["v1.0"] = ArchConfig()
PRESETS["v1.1"] = ArchConfig(stem_filters=64, stem_kernel=3, pool_after=("conv1", "fire3", "fire5"))
PRESET_NAMES: tuple[str, ...] = tuple(PRESETS)
