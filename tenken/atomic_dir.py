"""Writing a folder all at once: build it beside the target, rename it into place at the end."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tenken.errors import ConfigError


def check_output_folder(target: Path, *, overwrite: bool = False) -> None:
    """Refuse a target that is a file, or a non-empty folder without `overwrite`."""
    if target.exists() and not target.is_dir():
        raise ConfigError(f"output {target} exists and is not a folder")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise ConfigError(f"output folder {target} already exists and is not empty; use --overwrite")


@contextmanager
def atomic_folder(target: Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder that becomes `target` only if the block completes.

    On any error the temporary folder is removed and an existing `target` is left untouched.
    An existing non-empty `target` is replaced only with `overwrite`.
    """
    target = target.resolve()
    check_output_folder(target, overwrite=overwrite)
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
