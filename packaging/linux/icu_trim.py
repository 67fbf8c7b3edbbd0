"""Replace the bundle's 32 MB ICU data library with one that carries only what Qt uses (≈ 5 MB).

Why (docs/packaging.md §2): PySide6's wheel ships ``libicudata.so.73``, ICU's *entire* data set:
display names of every language, region, currency, unit and time zone in 200 locales,
transliterators, spell-out rules, break iterators with their dictionaries, collation tailorings
and 200 legacy code pages. Qt 6 calls ICU for collation (``QCollator``), case mapping and codecs
other than UTF/Latin-1; its ``QLocale`` data are Qt's own CLDR tables. The console uses none of
the display-name, transliteration, RBNF, break-iterator or legacy-codec data. What is dropped:
``DROP_TREES`` and ``DROP_ITEMS``; the root locale data, collation root (UCA), normalisation and
alias tables stay, so anything that does reach ICU still gets an answer (root fallback).

How: the data lives in ``icudt73_dat``, one ``.rodata`` symbol of the library. ICU's own tool
``icupkg`` (Debian: icu-devtools) lists and removes items of that package; the trimmed package is
linked back into a ``libicudata.so.73`` with the same soname and symbol (``.incbin``, gcc).
``build.spec`` calls ``trim(bundle_lib_dir)`` after COLLECT on Linux.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

# Whole trees: locale *display* data, transliteration, number spell-out, and the break iterators
# with their Thai/Lao/Khmer/Burmese/CJK dictionaries (Qt finds text boundaries itself).
DROP_TREES = ("lang/", "region/", "curr/", "unit/", "zone/", "translit/", "rbnf/", "brkitr/")
# Per-locale collation tailorings (the root collation, UCA, stays); the table-driven legacy
# converters (ibm-*, windows-*, EUC, GB18030 …: Qt converts UTF-8/16/32 and Latin-1 itself and the
# console decodes customer files in Python); character names, the spoof checker, StringPrep profiles.
DROP_ITEMS = re.compile(r"^coll/(?!root\.res$|ucadata.*|res_index\.res$|pool\.res$).*"
                        r"|^[^/]+\.cnv$|^unames\.icu$|^confusables\.cfu$|^rfc\d+\w*\.spp$")


def dropped(items: list[str]) -> list[str]:
    """The package items (``icupkg -l`` names) that the trimmed data leaves out."""
    return [i for i in items if i.startswith(DROP_TREES) or DROP_ITEMS.match(i)]


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SystemExit(f"icu_trim: `{name}` not found: apt-get install icu-devtools gcc "
                         "(or set SCIM_CONSOLE_FULL_ICU=1 to keep the full 32 MB ICU data)")
    return path


def _symbol(lib: Path) -> tuple[str, int, int]:
    """(symbol name, file offset, size) of the ICU data symbol in the library."""
    out = subprocess.run(["nm", "-D", "-S", "--defined-only", str(lib)], capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and re.fullmatch(r"icudt\d+_dat", parts[3]):
            vaddr, size = int(parts[0], 16), int(parts[1], 16)
            return parts[3], _file_offset(lib, vaddr), size
    raise SystemExit(f"icu_trim: no icudtNN_dat symbol in {lib}")


def _file_offset(lib: Path, vaddr: int) -> int:
    out = subprocess.run(["readelf", "-W", "-S", str(lib)], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        m = re.search(r"\]\s+\S+\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
        if m:
            addr, off, size = (int(g, 16) for g in m.groups())
            if addr <= vaddr < addr + size:
                return off + (vaddr - addr)
    raise SystemExit(f"icu_trim: address {vaddr:#x} not in any section of {lib}")


def trim(lib_dir: Path) -> tuple[int, int]:
    """Trim ``lib_dir/libicudata.so.NN`` in place; returns (bytes before, bytes after)."""
    libs = sorted(lib_dir.glob("libicudata.so.*"))
    if len(libs) != 1:
        raise SystemExit(f"icu_trim: expected one libicudata.so.* in {lib_dir}, found {libs}")
    lib = libs[0]
    icupkg, cc = _tool("icupkg"), _tool("gcc")
    name, offset, size = _symbol(lib)
    before = lib.stat().st_size
    with tempfile.TemporaryDirectory(prefix="icu-trim-") as tmp:
        work = Path(tmp)
        # icupkg takes the package name from the file name: icudt73_dat -> icudt73l.dat (little-endian).
        package = name.removesuffix("_dat") + "l.dat"
        (work / "small").mkdir()
        full, small = work / package, work / "small" / package
        with lib.open("rb") as f:
            f.seek(offset)
            full.write_bytes(f.read(size))
        items = subprocess.run([icupkg, "-l", str(full)], capture_output=True, text=True,
                               check=True).stdout.split()
        drop = dropped(items)
        (work / "drop.lst").write_text("\n".join(drop) + "\n", encoding="utf-8")
        # (icupkg reads a list file relative to the working directory, not as an absolute path)
        subprocess.run([icupkg, "-r", "drop.lst", full.name, f"small/{package}"], check=True, cwd=work)
        asm = work / "data.S"
        asm.write_text(
            "\t.section .rodata\n\t.balign 16\n"
            f"\t.globl {name}\n\t.type {name}, @object\n{name}:\n"
            f'\t.incbin "{small}"\n\t.size {name}, .-{name}\n'
            '\t.section .note.GNU-stack,"",@progbits\n', encoding="utf-8")
        out = work / lib.name
        subprocess.run([cc, "-shared", "-nostdlib", "-s", "-Wl,-soname," + lib.name, "-Wl,-z,relro,-z,now",
                        "-o", str(out), str(asm)], check=True)
        shutil.copyfile(out, lib)
    return before, lib.stat().st_size


if __name__ == "__main__":
    import sys

    b, a = trim(Path(sys.argv[1]))
    print(f"libicudata: {b / 1e6:.1f} MB -> {a / 1e6:.1f} MB")  # noqa: T201
