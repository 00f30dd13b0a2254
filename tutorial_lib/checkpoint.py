"""Safe checkpoints: written atomically (temp file + rename), read without running pickled code."""
from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tutorial_lib.models import build_model


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupt, truncated, tampered with or for another architecture."""


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes files private; give them the usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2) + "\n").encode())


def save_atomic(obj: Any, path: str | Path) -> None:
    """``torch.save`` to ``path`` atomically."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def sha256_file(path: str | Path) -> str:
    """The hex SHA-256 of a file."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_file(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``; any damage becomes a ``CheckpointError``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; check the path or retrain it")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, garbage bytes, disallowed pickle globals, ...
        raise CheckpointError(
            f"checkpoint {path} is corrupt or truncated ({type(err).__name__}: {err}); "
            "delete it and retrain, or reinstall tutorial_lib to restore a shipped one"
        ) from err
    if not isinstance(obj, dict):
        raise CheckpointError(f"checkpoint {path} holds a {type(obj).__name__}, not a dict; "
                              "it was not written by tutorial_lib")
    return obj


def save_model(model: nn.Module, path: str | Path, *, arch: str,
               arch_kwargs: dict[str, int] | None = None) -> str:
    """Save weights and architecture name atomically; return the file's SHA-256."""
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    save_atomic({"arch": arch, "arch_kwargs": dict(arch_kwargs or {}), "state_dict": state}, path)
    return sha256_file(path)


def load_model(path: str | Path, *, sha256: str | None = None, arch: str | None = None
               ) -> nn.Module:
    """Rebuild a model saved by ``save_model``, in eval mode; check checksum and architecture."""
    path = Path(path)
    if sha256 is not None and path.is_file() and sha256_file(path) != sha256:
        raise CheckpointError(
            f"checkpoint {path} does not match its recorded sha256 (expected {sha256[:12]}…, got "
            f"{sha256_file(path)[:12]}…); the file was changed or damaged: reinstall or retrain it")
    obj = load_file(path)
    if not {"arch", "state_dict"} <= obj.keys():
        raise CheckpointError(f"checkpoint {path} lacks 'arch'/'state_dict'; it was not written "
                              "by tutorial_lib.checkpoint.save_model")
    if arch is not None and obj["arch"] != arch:
        raise CheckpointError(f"checkpoint {path} is a {obj['arch']!r} model, not {arch!r}; "
                              "load it with the architecture it was trained with")
    model = build_model(obj["arch"], **obj.get("arch_kwargs", {}))
    try:
        model.load_state_dict(obj["state_dict"])
    except RuntimeError as err:
        raise CheckpointError(
            f"checkpoint {path} does not fit architecture {obj['arch']!r} "
            f"{obj.get('arch_kwargs', {})}: {str(err).splitlines()[0]} ... "
            "retrain it with this version of tutorial_lib") from err
    return model.eval()
