"""Which networks a fidelity run measures: distinct, feasible, and spread over the space's sizes."""

from __future__ import annotations

import numpy as np
import optuna

from sqzdse.arch import ArchConfig
from sqzdse.errors import SpaceError
from sqzdse.records import DEFAULT_COST, analytic_metrics
from sqzdse.search import over_budget
from sqzdse.space import SearchSpace

CANDIDATES_PER_NETWORK = 25  # random draws looked at per network asked for


def draw_networks(
    space: SearchSpace, *, count: int, num_classes: int, seed: int = 0
) -> list[ArchConfig]:
    """`count` distinct networks of `space` within its constraints, spread evenly over
    log10(params) from its smallest to its largest network.

    A seeded random pool of the space's networks (CANDIDATES_PER_NETWORK draws per network asked
    for) is deduplicated and filtered by the constraints; then for each of `count` evenly spaced
    targets between the pool's smallest and largest log10(params), the unused network nearest to it
    is taken. Returned smallest first. SpaceError when the space holds fewer feasible networks.
    """
    if not isinstance(count, int) or isinstance(count, bool) or count < 2:
        raise SpaceError(f"the number of networks must be an integer >= 2, got {count!r}")
    pool = _feasible_pool(
        space, draws=count * CANDIDATES_PER_NETWORK, num_classes=num_classes, seed=seed
    )
    if len(pool) < count:
        raise SpaceError(
            f"space {space.name!r} yielded only {len(pool)} distinct feasible "
            f"networks in {count * CANDIDATES_PER_NETWORK} draws; ask for at most "
            f"{len(pool)} (--archs), or widen the space"
        )
    sizes = np.log10([params for params, _ in pool])
    targets = np.linspace(sizes.min(), sizes.max(), count)
    unused = list(range(len(pool)))
    chosen = []
    for target in targets:
        best = min(unused, key=lambda i: (abs(sizes[i] - target), i))
        unused.remove(best)
        chosen.append(pool[best])
    return [arch for _, arch in sorted(chosen, key=lambda pair: pair[0])]


def _feasible_pool(
    space: SearchSpace, *, draws: int, num_classes: int, seed: int
) -> list[tuple[int, ArchConfig]]:
    """(params, network) of the distinct feasible networks among `draws` seeded random draws."""
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "A new study created in memory"
    try:
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    finally:
        optuna.logging.set_verbosity(verbosity)
    seen: dict[ArchConfig, int] = {}
    for _ in range(draws):
        arch = space.suggest(study.ask(), num_classes=num_classes)
        if arch in seen:
            continue
        metrics = analytic_metrics(arch)
        if over_budget(metrics, space.constraints) is None:
            seen[arch] = metrics[DEFAULT_COST]
    # In draw order, so that equally near networks are chosen the same way for the same seed.
    return [(params, arch) for arch, params in seen.items()]
