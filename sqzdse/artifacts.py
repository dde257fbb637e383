"""Trained weights as Optuna artifacts: where they are stored, and how a trial points to them.

A study on an SQLite file keeps its artifacts in a folder beside it (`studies/micro.db` ->
`studies/micro.artifacts/`). A study on a server (PostgreSQL) is shared by machines, so its
artifacts need a store they all reach: `--artifacts DIR` (a shared file system) or
`--artifacts s3://bucket` (Optuna's Boto3ArtifactStore; `pip install boto3`). A trial's
`weights` attribute names the artifact, its SHA-256, its size and where the weights came from.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from optuna.artifacts import FileSystemArtifactStore

from sqzdse.errors import SqzdseError
from sqzdse.files import atomic_file
from sqzdse.records import text_or_none, whole_number
from sqzdse.weights import Weights, sha256

WEIGHTS_ATTR = "weights"
SAVE_WEIGHTS = ("none", "front", "all")
DEFAULT_SAVE_WEIGHTS = "front"


@dataclass(frozen=True, kw_only=True)
class StoredWeights:
    """Where a network's weights are stored: the one owner of a trial's `weights` attribute (and of
    a retraining block's `weights`). `save_weights` fills every field; read back with `from_dict`,
    what a stored block lacks (or holds as something else) is None."""

    artifact_id: str | None
    sha256: str | None  # of the stored bytes, checked when they are read back
    bytes: int | None
    source: str | None  # "proxy" (the search's training) or "retrained" (`sqzdse retrain`)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StoredWeights:
        return cls(
            artifact_id=text_or_none(data.get("artifact_id")),
            sha256=text_or_none(data.get("sha256")),
            bytes=whole_number(data.get("bytes")),
            source=text_or_none(data.get("source")),
        )


def default_location(storage_url: str) -> str | None:
    """The artifact folder beside an SQLite study; None for a server's storage."""
    if not storage_url.startswith("sqlite:///"):
        return None
    return str(Path(storage_url.removeprefix("sqlite:///")).with_suffix(".artifacts"))


def artifact_store(storage_url: str, location: str | None = None, *, create: bool = True):
    """The store of a study's artifacts: `location` when given, else the default beside an SQLite
    file; SqzdseError for a server's storage without one. A reader (`create=False`) never makes
    the folder: a missing one is an error."""
    location = location or default_location(storage_url)
    if location is None:
        raise SqzdseError(
            "a study on a server needs an artifact store every machine reaches: give --artifacts "
            "DIR (a shared folder) or --artifacts s3://BUCKET"
        )
    if location.startswith("s3://"):
        return _s3_store(location)
    folder = Path(location)
    if not create and not folder.is_dir():
        raise SqzdseError(
            f"no artifact folder at {folder}: the weights were stored elsewhere (give that "
            "--artifacts) or the folder was moved or deleted"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SqzdseError(f"cannot create the artifact folder {folder}: {err.strerror}") from None
    return AtomicFileSystemArtifactStore(folder)


class AtomicFileSystemArtifactStore(FileSystemArtifactStore):
    """Optuna's file-system artifact store, whose files appear whole or not at all (a full disk
    leaves no half-written weights behind)."""

    def write(self, artifact_id: str, content_body) -> None:
        path = Path(self._get_filepath(artifact_id))
        with atomic_file(path) as temporary, open(temporary, "wb") as f:
            shutil.copyfileobj(content_body, f)


def _s3_store(location: str):
    bucket = location.removeprefix("s3://").rstrip("/")
    if not bucket or "/" in bucket:
        raise SqzdseError(f"--artifacts {location}: give a bucket, s3://BUCKET (no prefix)")
    try:
        import boto3  # noqa: F401
    except ImportError:
        raise SqzdseError(f"--artifacts {location} needs boto3: pip install boto3") from None
    from optuna.artifacts import Boto3ArtifactStore

    return Boto3ArtifactStore(bucket)


def save_weights(owner, weights: Weights, store, *, source: str, label: str) -> dict[str, Any]:
    """Upload `weights` as an artifact of `owner` (a running trial, or a study); returns what
    records them, as stored (`StoredWeights.to_dict`: artifact id, SHA-256, bytes, `source`).
    `label` names the uploaded file."""
    from optuna.artifacts import upload_artifact

    data = weights.to_bytes()
    with tempfile.TemporaryDirectory(prefix="sqzdse-weights-") as folder:
        path = Path(folder) / f"{label}-{source}.pt"
        path.write_bytes(data)
        artifact_id = upload_artifact(
            artifact_store=store,
            file_path=str(path),
            study_or_trial=owner,
            mimetype="application/octet-stream",
        )
    stored = StoredWeights(
        artifact_id=artifact_id, sha256=sha256(data), bytes=len(data), source=source
    )
    return stored.to_dict()


def load_weights(info: StoredWeights | Mapping[str, Any], store) -> Weights:
    """The weights a trial's `weights` attribute (as stored, or read) points to, checked against
    its SHA-256; SqzdseError when the attribute does not name an artifact and its checksum."""
    from optuna.artifacts import download_artifact

    stored = info if isinstance(info, StoredWeights) else StoredWeights.from_dict(info)
    artifact_id = stored.artifact_id
    if artifact_id is None or stored.sha256 is None:
        raise SqzdseError(
            f"the stored weights record {dict(info) if isinstance(info, Mapping) else info!r} "
            "lacks an artifact id or a SHA-256: store the weights again"
        )
    with tempfile.TemporaryDirectory(prefix="sqzdse-weights-") as folder:
        path = Path(folder) / "weights.pt"
        try:
            download_artifact(artifact_store=store, file_path=str(path), artifact_id=artifact_id)
        except Exception as err:  # a missing file, an unreachable bucket, ...
            raise SqzdseError(
                f"cannot read the stored weights (artifact {artifact_id}): "
                f"{type(err).__name__}: {err}"
            ) from None
        data = path.read_bytes()
    if sha256(data) != stored.sha256:
        raise SqzdseError(
            f"the stored weights (artifact {artifact_id}) do not match their checksum: "
            "the file was changed or damaged"
        )
    return Weights.from_bytes(data)
