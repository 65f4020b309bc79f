"""Plain files under the lake root (shards, tokenizers, blends): a local path or any URI pyarrow's
filesystems open (file://, s3://, gs://, abfs://, hdfs://).

- A local path is written under a temporary name in the same directory, fsynced and renamed
  (`os.replace`): a reader sees the old file or the new one, never half of one.
- A URI is written through `pyarrow.fs` with one output stream per file. Object stores make an
  object visible only when its upload completes, which is the same guarantee; `file://` goes the
  same way, so tests exercise the URI path on a local disk.
"""
from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

from core.io.object_store import pyarrow_filesystem

_BLOCK = 1 << 20


def is_uri(location: str) -> bool:
    return "://" in location


def join(location: str, *parts: str) -> str:
    return "/".join([location.rstrip("/"), *(part.strip("/") for part in parts)])


def filesystem(location: str, s3_settings=None):
    """(pyarrow filesystem, path inside it); S3 locations use `s3_settings` (an S3Settings) when
    given, else this process's AWS_* variables."""
    from pyarrow import fs

    if not is_uri(location):
        return fs.LocalFileSystem(), str(Path(location).resolve())
    return pyarrow_filesystem(location, s3_settings)  # s3a:// too


def exists(location: str) -> bool:
    if not is_uri(location):
        return os.path.isfile(location)
    from pyarrow import fs

    handle, path = filesystem(location)
    return handle.get_file_info(path).type == fs.FileType.File


def file_size(location: str) -> int | None:
    """Bytes of a file, None when there is no file."""
    if not is_uri(location):
        return os.path.getsize(location) if os.path.isfile(location) else None
    from pyarrow import fs

    handle, path = filesystem(location)
    info = handle.get_file_info(path)
    return int(info.size) if info.type == fs.FileType.File else None


def read_bytes(location: str) -> bytes:
    """The whole file (FileNotFoundError naming it when it is missing)."""
    if not exists(location):
        raise FileNotFoundError(f"{location}: no such file")
    handle, path = filesystem(location)
    with handle.open_input_stream(path) as stream:
        return stream.read()


def sha256_of(location: str) -> tuple[str, int]:
    """(sha256 hex, bytes) of a file, read in 1 MiB blocks."""
    if not exists(location):
        raise FileNotFoundError(f"{location}: no such file")
    handle, path = filesystem(location)
    digest, size = hashlib.sha256(), 0
    with handle.open_input_stream(path) as stream:
        while block := stream.read(_BLOCK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def write_bytes(location: str, data: bytes, s3_settings=None) -> None:
    """Write a whole file so that readers never see part of it."""
    if not is_uri(location):
        _replace_local(location, lambda handle: handle.write(data))
        return
    handle, path = filesystem(location, s3_settings)
    handle.create_dir(path.rsplit("/", 1)[0], recursive=True)
    with handle.open_output_stream(path) as stream:
        stream.write(data)


def upload_file(local_path: str, location: str) -> None:
    """Copy a local file to a location (a local path is replaced atomically)."""
    if not is_uri(location):
        def copy(handle) -> None:
            with open(local_path, "rb") as source:
                while block := source.read(_BLOCK):
                    handle.write(block)

        _replace_local(location, copy)
        return
    handle, path = filesystem(location)
    handle.create_dir(path.rsplit("/", 1)[0], recursive=True)
    with open(local_path, "rb") as source, handle.open_output_stream(path) as stream:
        while block := source.read(_BLOCK):
            stream.write(block)


def list_names(directory: str) -> list[str]:
    """Names of the files directly in a directory (empty when it does not exist)."""
    from pyarrow import fs

    handle, path = filesystem(directory)
    if handle.get_file_info(path).type != fs.FileType.Directory:
        return []
    selector = fs.FileSelector(path, recursive=False)
    return sorted(info.base_name for info in handle.get_file_info(selector) if info.type == fs.FileType.File)


def list_directories(directory: str) -> list[str]:
    """Names of the subdirectories of a directory (empty when it does not exist)."""
    from pyarrow import fs

    handle, path = filesystem(directory)
    if handle.get_file_info(path).type != fs.FileType.Directory:
        return []
    selector = fs.FileSelector(path, recursive=False)
    return sorted(info.base_name for info in handle.get_file_info(selector)
                  if info.type == fs.FileType.Directory)


def delete_file(location: str) -> None:
    handle, path = filesystem(location)
    handle.delete_file(path)


def delete_directory(location: str) -> None:
    handle, path = filesystem(location)
    handle.delete_dir(path)


def _replace_local(location: str, write) -> None:
    Path(location).parent.mkdir(parents=True, exist_ok=True)
    tmp = f"{location}.tmp-{uuid.uuid4().hex}"
    try:
        with open(tmp, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, location)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
