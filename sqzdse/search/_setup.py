"""Before the first trial: what the search measures (SearchSetup) and the study it writes to."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import optuna

from sqzdse.errors import StorageError
from sqzdse.records import Direction, StudyInfo, metric
from sqzdse.samplers import make_sampler
from sqzdse.space import SearchSpace
from sqzdse.storage import check_study_name


@dataclass(frozen=True)
class SearchSetup:
    """Everything decided before the first trial: the space, the data's classes, the objectives."""

    space: SearchSpace
    num_classes: int
    objectives: tuple[str, ...]
    note: str = ""
    splits: dict | None = None  # sqzdse.data.Splits.to_dict() of the proxy's data

    @property
    def directions(self) -> list[Direction]:
        return [metric(name).direction for name in self.objectives]

    @property
    def study_info(self) -> StudyInfo:
        """What the study records about itself."""
        space = self.space
        return StudyInfo(
            space_hash=space.hash,
            space=space.to_dict(),
            objectives=tuple(zip(self.objectives, self.directions)),
            dataset=space.training.dataset,
            num_classes=self.num_classes,
            accuracy_note=self.note,
            splits=self.splits,
        )


def make_setup(space: SearchSpace) -> SearchSetup:
    """The setup of a search of `space`, once everything that can be checked before the storage is
    opened has been: a refused search writes nothing."""
    data = check_runnable(space)
    objectives, note = space.resolve_objectives(data.num_classes)
    return SearchSetup(space, data.num_classes, objectives, note, data.splits.to_dict())


def check_runnable(space: SearchSpace):
    """SqzdseError for a setting that would fail every trial: trainer settings out of range, a
    device this machine lacks, a `quantization` section without ONNX Runtime, a data set that is
    not there or not readable. The data set is loaded
    (and cached for the trials), so a broken file is found now; returns it (`sqzdse.data.Dataset`:
    training and validation images only)."""
    from sqzdse.data import load_dataset
    from sqzdse.train import resolve_device

    training = space.training
    training.train_config()
    resolve_device(training.device)
    if space.quantization is not None:
        from sqzdse.export_model import require_onnx

        require_onnx("the space's `quantization` section (int8 with ONNX Runtime)")
    return load_dataset(training.data_spec())


def open_study(
    setup: SearchSetup, *, storage, study_name: str, sampler=None, process: str | None = None
) -> optuna.Study:
    """Create the study, or resume it when it was made from the same space (same hash).

    `process` names this process when it is one of several sharing the study (see `sampler_seed`).
    """
    check_study_name(study_name)
    space = setup.space
    if sampler is None:
        seed = sampler_seed(
            space.sampler.seed, trials_before=_trial_count(storage, study_name), process=process
        )
        sampler = make_sampler(
            space.sampler.name,
            seed=seed,
            options=dict(space.sampler.options),
            grid=space.searched_params,
        )
    try:
        study = optuna.create_study(
            storage=storage,
            study_name=study_name,
            sampler=sampler,
            directions=setup.directions,
            load_if_exists=True,
        )
    except ValueError as err:  # directions differ from the stored study's
        raise StorageError(
            f"study {study_name!r} exists with other objectives ({err}); start a "
            "new study with --study NAME"
        ) from None
    stored = StudyInfo.read(study)
    if stored.space_hash is None:
        # New, or its creation was interrupted before the hash (written last): (re)write it all.
        if study.get_trials(deepcopy=False):
            raise StorageError(
                f"study {study_name!r} has trials but no sqzdse search space (made "
                "by another tool?); start a new study with --study NAME"
            )
        study.set_metric_names(list(setup.objectives))
        setup.study_info.write(study)
    elif stored.space_hash != space.hash and stored.splits is None:
        raise StorageError(
            f"study {study_name!r} was made before sqzdse held a validation split out of the "
            "training images: its accuracies were measured on the official test images (or the "
            "old two-way split), and new trials would not be comparable. It still reads "
            f"(export, dashboard); start a new study with --study {study_name}-2 (or another "
            "--storage)"
        )
    elif stored.space_hash != space.hash:
        raise StorageError(
            f"study {study_name!r} was created from a different search space (stored hash "
            f"{stored.space_hash}, this space {space.hash}): its trials would not be comparable. "
            f"Start a new study with --study {study_name}-2 (or another --storage), or restore the "
            "space the study was made with"
        )
    elif study.metric_names != list(setup.objectives):
        raise StorageError(
            f"study {study_name!r} optimises {study.metric_names}, not "
            f"{list(setup.objectives)}; start a new study with --study NAME"
        )
    return study


def sampler_seed(seed: int, *, trials_before: int, process: str | None) -> int:
    """The seed of this process's sampler.

    One process on a new study uses the space's seed, so that run is reproducible. A resumed study,
    or one of several processes sharing it, mixes in the trials already there and the process's
    name: with the plain seed, a resumed random sampler would draw its first trials again and
    parallel workers would all draw the same architectures.
    """
    if trials_before == 0 and process is None:
        return seed
    digest = hashlib.sha256(f"{seed}/{trials_before}/{process}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def _trial_count(storage: optuna.storages.BaseStorage, study_name: str) -> int:
    try:
        return storage.get_n_trials(storage.get_study_id_from_name(study_name))
    except KeyError:  # no such study yet
        return 0
