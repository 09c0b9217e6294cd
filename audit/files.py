"""Writing output files without ever losing what was there before."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from audit.errors import UsageError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_new_file(path: str, text: str | Iterable[str], force: bool = False) -> None:
    """Write ``text`` to ``path`` atomically; an existing file is replaced only with ``force``.

    ``text`` may be an iterable of chunks, so that a large report is never held whole.
    """
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{path} is a directory; give a file name")
    if target.exists() and not force:
        raise UsageError(f"{path} already exists; use --force to overwrite it")
    directory = target.parent
    if not directory.is_dir():
        raise UsageError(f"cannot write {path}: directory {directory} does not exist")
    try:
        # Write beside the target, then rename: an interrupted run never leaves half a file.
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                if isinstance(text, str):
                    handle.write(text)
                else:
                    handle.writelines(text)
            # mkstemp makes the file private; give it the mode any new file would get.
            os.chmod(temporary, 0o666 & ~_umask())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
