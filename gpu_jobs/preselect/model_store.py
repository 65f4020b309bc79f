"""Where PreSelect classifiers live: under the lake root, so every Ray worker and every later run finds them.

    <lake>/models/preselect/<model_id>/model.bin     the fastText classifier
    <lake>/models/preselect/<model_id>/report.json   the training report; written last: its presence
                                                     marks the model as complete
    <lake>/models/preselect/latest.json              {"model_id", "model_uri", "report_uri", ...} of
                                                     the model trained last

`model_id` is a content address: a hash of the training configuration and the sampled doc_ids, so
training again on the same sample with the same settings finds the model it would write and can
reuse it. The lake root is a local directory or any URI pyarrow opens (s3://, gs://, ...).

A classifier given as a URI (`https://...`, `s3://...`) is downloaded once per process (each Ray
actor, the driver) into a temporary directory by `localize`; fastText reads only local files.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
import threading
import uuid

from contract.tables import PRESELECT_MODELS, table_uri
from core.io.object_store import pyarrow_filesystem

MODEL_FILE = "model.bin"
REPORT_FILE = "report.json"
LATEST_FILE = "latest.json"


def _filesystem(uri: str):
    from pyarrow import fs

    if "://" not in uri or uri.startswith("file://"):
        return fs.LocalFileSystem(), uri.removeprefix("file://")
    return pyarrow_filesystem(uri)  # s3a:// and the AWS_* settings too


def store_uri(lake_uri: str) -> str:
    return table_uri(lake_uri, PRESELECT_MODELS)


def model_dir_uri(lake_uri: str, model_id: str) -> str:
    return f"{store_uri(lake_uri)}/{model_id}"


def model_id_for(training_config: dict, sample_doc_ids: list[str]) -> str:
    """A content address of a training run: sha256 of the canonical config and the sorted sample ids."""
    digest = hashlib.sha256(json.dumps(training_config, sort_keys=True, default=str).encode())
    for doc_id in sorted(sample_doc_ids):
        digest.update(b"\x00" + doc_id.encode())
    return digest.hexdigest()[:16]


def file_digest(path: str) -> str:
    """sha256 of a local file, first 16 hex digits (the `classifier` column of scores/preselect)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def _write_bytes(uri: str, data: bytes) -> None:
    filesystem, path = _filesystem(uri)
    filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
    with filesystem.open_output_stream(path) as out:
        out.write(data)


def _read_json(uri: str) -> dict | None:
    from pyarrow import fs

    filesystem, path = _filesystem(uri)
    if filesystem.get_file_info(path).type != fs.FileType.File:
        return None
    with filesystem.open_input_stream(path) as stream:
        return json.loads(stream.read())


def publish_model(lake_uri: str, model_id: str, local_model: str, report: dict, crawl: str | None) -> dict:
    """Copy a trained classifier and its report into the store, then point `latest.json` at it."""
    from pyarrow import fs

    directory = model_dir_uri(lake_uri, model_id)
    filesystem, path = _filesystem(directory)
    filesystem.create_dir(path, recursive=True)
    fs.copy_files(local_model, f"{path}/{MODEL_FILE}", source_filesystem=fs.LocalFileSystem(),
                  destination_filesystem=filesystem)
    entry = {"model_id": model_id, "model_uri": f"{directory}/{MODEL_FILE}", "report_uri": f"{directory}/{REPORT_FILE}",
             "crawl": crawl, "sha256_16": file_digest(local_model),
             "published_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    _write_bytes(f"{directory}/{REPORT_FILE}", json.dumps({**report, "store": entry}, indent=1, default=str).encode())
    set_latest(lake_uri, entry)
    return entry


def find_model(lake_uri: str, model_id: str) -> dict | None:
    """The stored report of a complete model (its report.json exists), else None."""
    return _read_json(f"{model_dir_uri(lake_uri, model_id)}/{REPORT_FILE}")


def set_latest(lake_uri: str, entry: dict) -> None:
    """Point `latest.json` at a model (written under a temporary name, then moved over the old one)."""
    final = f"{store_uri(lake_uri)}/{LATEST_FILE}"
    temporary = f"{final}.{uuid.uuid4().hex}.tmp"
    _write_bytes(temporary, json.dumps(entry, indent=1).encode())
    filesystem, path = _filesystem(final)
    filesystem.move(_filesystem(temporary)[1], path)


def latest_model(lake_uri: str) -> dict | None:
    """The entry `latest.json` points at, or None when no model was trained under this lake."""
    return _read_json(f"{store_uri(lake_uri)}/{LATEST_FILE}")


_LOCAL_COPIES: dict[str, str] = {}
_LOCK = threading.Lock()


def localize(uri: str) -> str:
    """A local path of the model at `uri`: the path itself when local, else a per-process download."""
    if "://" not in uri or uri.startswith("file://"):
        return uri.removeprefix("file://")
    with _LOCK:
        if uri not in _LOCAL_COPIES or not os.path.isfile(_LOCAL_COPIES[uri]):
            from core.io.remote import open_uri

            directory = tempfile.mkdtemp(prefix="preselect-model-")
            target = os.path.join(directory, os.path.basename(uri.split("?", 1)[0]) or MODEL_FILE)
            try:
                with open_uri(uri) as source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
            except Exception as err:
                shutil.rmtree(directory, ignore_errors=True)
                raise FileNotFoundError(f"cannot download the classifier {uri}: {err}") from err
            _LOCAL_COPIES[uri] = target
        return _LOCAL_COPIES[uri]
