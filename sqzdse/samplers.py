"""Optuna samplers by name, each seeded, with the options a search-space file may set."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from optuna import samplers

from sqzdse.errors import SpaceError


class Registered(NamedTuple):
    """A sampler a space may name: its Optuna class and the options it takes ({option: type})."""

    cls: Callable[..., samplers.BaseSampler]  # an Optuna sampler class
    options: dict[str, type | tuple[type, ...]]


# name -> Registered; every sampler here handles several objectives.
SAMPLERS: dict[str, Registered] = {}
SINGLE_OBJECTIVE_ONLY = {"cmaes": "CMA-ES"}


def register_sampler(
    name: str, cls: Callable[..., samplers.BaseSampler], options: dict[str, Any]
) -> None:
    if name in SAMPLERS or name in SINGLE_OBJECTIVE_ONLY:
        raise ValueError(f"sampler {name!r} is already registered")
    SAMPLERS[name] = Registered(cls, options)


_GA = {
    "population_size": int,
    "mutation_prob": (int, float),
    "crossover_prob": (int, float),
    "swapping_prob": (int, float),
}
register_sampler("nsga2", samplers.NSGAIISampler, _GA)
register_sampler("nsga3", samplers.NSGAIIISampler, {**_GA, "dividing_parameter": int})
register_sampler(
    "tpe",
    samplers.TPESampler,
    {
        "n_startup_trials": int,
        "n_ei_candidates": int,
        "multivariate": bool,
        "group": bool,
        "consider_endpoints": bool,
        "prior_weight": (int, float),
        "constant_liar": bool,
    },
)
register_sampler(
    "gp", samplers.GPSampler, {"n_startup_trials": int, "deterministic_objective": bool}
)
register_sampler("qmc", samplers.QMCSampler, {"qmc_type": str, "scramble": bool})
register_sampler("random", samplers.RandomSampler, {})
register_sampler("grid", samplers.GridSampler, {})
register_sampler("bruteforce", samplers.BruteForceSampler, {"avoid_premature_stop": bool})


def check_sampler(
    name: Any, options: dict[str, Any], *, path: str = "sampler", name_path: str | None = None
) -> None:
    """SpaceError unless `name` is a multi-objective sampler and `options` fit it."""
    valid = ", ".join(SAMPLERS)
    name_path = name_path or f"{path}.name"
    if name in SINGLE_OBJECTIVE_ONLY:
        raise SpaceError(
            f"{name_path}: {name} ({SINGLE_OBJECTIVE_ONLY[name]}) cannot handle several "
            f"objectives; samplers that can: {valid}"
        )
    if name not in SAMPLERS:
        raise SpaceError(f"{name_path}: unknown sampler {name!r}; valid: {valid}")
    allowed = SAMPLERS[name].options
    for key, value in options.items():
        if key not in allowed:
            hint = ", ".join(allowed) if allowed else "none"
            raise SpaceError(
                f"{path}.{key}: not an option of the {name} sampler; its options: {hint}"
            )
        expected = allowed[key]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            type_names = " or ".join(
                t.__name__ for t in (expected if isinstance(expected, tuple) else (expected,))
            )
            raise SpaceError(f"{path}.{key}: expected {type_names}, got {value!r}")
    if name == "qmc" and options.get("qmc_type", "sobol") not in ("sobol", "halton"):
        raise SpaceError(f"{path}.qmc_type: expected sobol or halton, got {options['qmc_type']!r}")


def make_sampler(
    name: str, *, seed: int, options: dict[str, Any], grid: Callable[[], dict[str, list]]
):
    """A configured, seeded Optuna sampler. `grid` gives every searched parameter's values, for the
    grid sampler (it is only called for that one)."""
    check_sampler(name, options)
    cls = SAMPLERS[name].cls
    if cls is samplers.GridSampler:
        return cls(grid(), seed=seed)
    return cls(seed=seed, **options)
