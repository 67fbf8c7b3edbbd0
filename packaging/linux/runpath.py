"""Remove build-host library search paths from the bundle's shared objects.

Why (docs/packaging.md §1): a CPython built by pyenv (or any prefix build) links its extension
modules with ``RUNPATH=<build prefix>/lib``. Installed under /opt that path means nothing at best,
and at worst makes the loader pick up a different libpython from the user's machine; lintian
reports it as ``custom-library-search-path``. Paths relative to the object (``$ORIGIN``: Qt's)
are kept. Uses ``patchelf`` (Debian: patchelf). ``build.spec`` calls ``clean(bundle_dir)`` on Linux.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def _is_elf(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(4) == b"\x7fELF"


def clean(bundle: Path) -> list[Path]:
    """Drop absolute RUNPATH/RPATH entries of every ELF file under ``bundle``; returns those changed."""
    patchelf = shutil.which("patchelf")
    if patchelf is None:
        raise SystemExit("runpath: `patchelf` not found: apt-get install patchelf")
    changed = []
    for path in sorted(p for p in bundle.rglob("*.so*") if p.is_file() and not p.is_symlink()):
        if not _is_elf(path):
            continue
        rpath = subprocess.run([patchelf, "--print-rpath", str(path)], capture_output=True, text=True,
                               check=True).stdout.strip()
        if not rpath:
            continue
        keep = [entry for entry in rpath.split(":") if entry.startswith("$ORIGIN")]
        if keep == rpath.split(":"):
            continue
        if keep:
            subprocess.run([patchelf, "--set-rpath", ":".join(keep), str(path)], check=True)
        else:
            subprocess.run([patchelf, "--remove-rpath", str(path)], check=True)
        changed.append(path)
    return changed
