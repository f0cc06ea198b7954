"""Writing a folder all at once: build it beside the target, rename it into place at the end.

Replacing a folder deletes what it held, so a replace is refused unless the caller recognises the
folder as its own earlier output, and never touches the current folder, a folder above it or a
folder holding one of the inputs.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tenken.errors import ConfigError


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_writable_parent(target: Path) -> None:
    """Refuse a target whose parent cannot be created or written (probed by creating a folder there)."""
    parent = _nearest_existing(target.parent)
    if not parent.is_dir():
        raise ConfigError(f"cannot write {target}: {parent} is not a folder")
    try:
        Path(tempfile.mkdtemp(prefix=f".{target.name}.probe-", dir=parent)).rmdir()
    except OSError as exc:
        raise ConfigError(f"cannot write {target}: {parent} is not writable ({exc.strerror})") from None


def check_output_folder(
    target: Path,
    *,
    overwrite: bool = False,
    replaceable: Callable[[Path], bool] = lambda folder: False,
    inputs: Iterable[Path] = (),
) -> None:
    """Refuse a target that cannot be written, or replaced without losing anything the user owns.

    A target that is a file, the current folder or one above it, or a folder holding one of the
    `inputs` is refused; a non-empty folder is replaced only with `overwrite` and only when
    `replaceable(folder)` recognises it; the parent must be writable.
    """
    target = target.resolve()
    if target.exists() and not target.is_dir():
        raise ConfigError(f"output {target} exists and is not a folder")
    cwd = Path.cwd().resolve()
    if cwd.is_relative_to(target):
        where = "is the current folder" if cwd == target else "holds the current folder"
        raise ConfigError(f"output folder {target} {where}; give a new folder for the report")
    for path in inputs:
        if path.resolve().is_relative_to(target):
            raise ConfigError(
                f"output folder {target} holds the input {path}; give a new folder for the report"
            )
    if target.is_dir() and any(target.iterdir()):
        if not overwrite:
            raise ConfigError(f"output folder {target} already exists and is not empty; use --overwrite")
        if not replaceable(target):
            raise ConfigError(
                f"output folder {target} is not an earlier report; --overwrite only replaces a report folder"
            )
    check_writable_parent(target)


@contextmanager
def atomic_folder(
    target: Path,
    *,
    overwrite: bool = False,
    replaceable: Callable[[Path], bool] = lambda folder: False,
    inputs: Iterable[Path] = (),
) -> Iterator[Path]:
    """Yield a temporary folder that becomes `target` only if the block completes.

    On any error the temporary folder is removed and an existing `target` is left untouched.
    An existing non-empty `target` is replaced only as `check_output_folder` allows.
    """
    target = target.resolve()
    check_output_folder(target, overwrite=overwrite, replaceable=replaceable, inputs=inputs)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old: Path | None = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{tmp.name.rsplit('-', 1)[-1]}")
        target.rename(old)
    tmp.chmod(0o755)
    tmp.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
