"""Build a fidelity plan from a space and the user's settings, and train one of its runs."""

from __future__ import annotations

from sqzdse.errors import SpaceError
from sqzdse.space import SearchSpace

from ._draw import draw_networks
from ._plan import Plan, Run, reference_setting

DEFAULT_NETWORKS = 24
DEFAULT_PROXY_SEEDS = 2
DEFAULT_REFERENCE_SEEDS = 1
# Training fields a user may set for the proxy and the reference separately; None: unchanged.
SETTINGS = ("epochs", "resolution", "train_per_class", "val_per_class", "batch_size")
ALL = 0  # the reference's train_per_class / val_per_class given as this: every image


def make_plan(
    space: SearchSpace,
    *,
    num_classes: int,
    networks: int = DEFAULT_NETWORKS,
    proxy_seeds: int = DEFAULT_PROXY_SEEDS,
    reference_seeds: int = DEFAULT_REFERENCE_SEEDS,
    draw_seed: int = 0,
    proxy: dict | None = None,
    reference: dict | None = None,
) -> Plan:
    """The plan: `networks` networks of `space` drawn by `draw_networks`, the space's training
    settings changed by `proxy` as the proxy, and the space's default reference
    (`reference_setting`) changed by `reference`. Both are checked as a space's training settings
    are."""
    for name, count in (("proxy seeds", proxy_seeds), ("reference seeds", reference_seeds)):
        if not isinstance(count, int) or count < 1:
            raise SpaceError(f"the number of {name} must be an integer >= 1, got {count!r}")
    proxy_changes, reference_changes = _given(proxy, "proxy"), _given(reference, "reference")
    if space.resolution_param is not None:
        # Every run trains at one resolution, and the networks are compared at it.
        if "resolution" not in proxy_changes:
            raise SpaceError(
                f"the space searches training.resolution ({space.training.resolution_label}), "
                "but a fidelity run trains every network at one resolution: give "
                "--proxy-resolution (the reference's follows it unless --reference-resolution)"
            )
        reference_changes.setdefault("resolution", proxy_changes["resolution"])
    proxy_space = space.with_overrides(**proxy_changes)
    proxy_setting = proxy_space.training
    reference_changes = {
        k: (None if v == ALL and k.endswith("per_class") else v)
        for k, v in reference_changes.items()
    }
    reference_training = reference_setting(space.training, **reference_changes)
    # Checked as a space's own settings (pools that vanish at a small resolution, ...).
    space.with_overrides(**{k: v for k, v in reference_changes.items() if v is not None})
    drawn = draw_networks(proxy_space, count=networks, num_classes=num_classes, seed=draw_seed)
    return Plan(
        space_name=space.name,
        networks=tuple(drawn),
        proxy=proxy_setting,
        reference=reference_training,
        proxy_seeds=proxy_seeds,
        reference_seeds=reference_seeds,
    )


def _given(changes: dict | None, role: str) -> dict:
    given = {k: v for k, v in (changes or {}).items() if v is not None}
    unknown = set(given) - set(SETTINGS)
    if unknown:
        raise SpaceError(
            f"{role} settings: {', '.join(sorted(unknown))} cannot be set; "
            f"expected some of {', '.join(SETTINGS)}"
        )
    for key, value in given.items():
        least = ALL if role == "reference" and key.endswith("per_class") else 1
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            allowed = f"an integer >= {least}" + (" (0: every image)" if least == ALL else "")
            raise SpaceError(f"{role} {key.replace('_', ' ')}: expected {allowed}, got {value!r}")
    return given


def train_run(run: Run, *, device: str):
    """Train `run` on `device`; its TrainResult."""
    from sqzdse.data import load_dataset
    from sqzdse.train import resolve_device, train_proxy

    torch_device = resolve_device(device)
    data = load_dataset(run.training.data_spec(), device=torch_device)
    config = run.training.train_config(device=str(torch_device))
    return train_proxy(run.arch, data, config)
