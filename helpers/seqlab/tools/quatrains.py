"""``seqlab quatrains``: extract lesson 08's corpus from the npm registry's ``chinese-poetry`` package (run once).

The course ships the five-character quatrains (五言绝句) of the Complete Tang Poems (全唐詩) in
``helpers/seqlab/quatrains/``; nothing is downloaded when the course runs.  This command is how they were made, so
anyone can check them or make them again:

1. ``npm pack chinese-poetry@2.0.1`` (or ``--tarball`` a copy you already have), and the tarball's SHA-1 must equal
   the registry's ``shasum`` below;
2. every poem of ``dist/quantangshi/poet.tang.*.json`` (files in numeric order, poems in file order) whose
   ``paragraphs`` are exactly two lines of the form ``五字，五字。`` (CJK characters U+4E00..U+9FFF only) is a quatrain;
3. repeated poems are kept once (first occurrence);
4. poem ``i`` (counting from 0) goes to the validation split when ``i % 10 == 9``, else to training;
5. one poem per line into ``train.txt`` and ``valid.txt``; the licence and these facts into ``SOURCE.md`` and
   ``provenance.json``.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import tarfile
import tempfile
from pathlib import Path

from seqlab.tools.course import ToolError

__all__ = [
    "PACKAGE",
    "VERSION",
    "SHASUM",
    "INTEGRITY",
    "QUATRAIN_LINES",
    "VALID_EVERY",
    "fetch_tarball",
    "extract_quatrains",
    "write_corpus",
    "quatrains_main",
]

PACKAGE = "chinese-poetry"
VERSION = "2.0.1"
#: The npm registry's ``dist.shasum`` (SHA-1 of the tarball) of chinese-poetry 2.0.1.
SHASUM = "b6e7e60d0accac7c723d066a5c360549aab8299d"
#: The registry's ``dist.integrity`` of the same tarball (recorded; npm checks it when it packs).
INTEGRITY = "sha512-KtYARvV7CWNtax0na9+Jn6PlhGgSoid7PWyDzXI4KsCEm2odZcqEQyval5koaLygZnM/EQ3lfJ//25K8p3uHNg=="
#: One paragraph of a quatrain: two lines of five characters, with their punctuation.
QUATRAIN_LINES = re.compile(r"[\u4e00-\u9fff]{5}，[\u4e00-\u9fff]{5}。")
_TANG_FILE = re.compile(r"package/dist/quantangshi/poet\.tang\.(\d+)\.json")
VALID_EVERY = 10


def _sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def fetch_tarball(folder: Path) -> Path:
    """``npm pack chinese-poetry@VERSION`` into ``folder``; the tarball's path."""
    try:
        subprocess.run(
            ["npm", "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", str(folder)],
            check=True,
            capture_output=True,
            text=True,
        )
    except (OSError, subprocess.CalledProcessError) as error:
        raise ToolError(f"npm pack {PACKAGE}@{VERSION} failed ({error}); pass --tarball instead") from None
    return folder / f"{PACKAGE}-{VERSION}.tgz"


def extract_quatrains(tarball: Path) -> tuple[list[str], str]:
    """The distinct quatrains of the tarball in source order, and the licence text it carries."""
    if _sha1(tarball) != SHASUM:
        raise ToolError(f"{tarball}: SHA-1 {_sha1(tarball)} is not the registry's {SHASUM} for {PACKAGE}@{VERSION}")
    with tarfile.open(tarball) as archive:
        members = {m.name: m for m in archive.getmembers() if m.isfile()}
        tang = sorted((int(match[1]), name) for name in members if (match := _TANG_FILE.fullmatch(name)))
        licence = archive.extractfile(members["package/LICENSE"]).read().decode()
        poems: dict[str, None] = {}
        for _, name in tang:
            for poem in json.load(archive.extractfile(members[name])):
                lines = poem.get("paragraphs", [])
                if len(lines) == 2 and all(QUATRAIN_LINES.fullmatch(line) for line in lines):
                    poems.setdefault("".join(lines))
    return list(poems), licence.strip()


def write_corpus(poems: list[str], licence: str, folder: Path, command: str) -> dict:
    """Write the split, the provenance and the licence into ``folder``; the provenance record."""
    folder.mkdir(parents=True, exist_ok=True)
    valid = [p for i, p in enumerate(poems) if i % VALID_EVERY == VALID_EVERY - 1]
    train = [p for i, p in enumerate(poems) if i % VALID_EVERY != VALID_EVERY - 1]
    for name, split in (("train.txt", train), ("valid.txt", valid)):
        (folder / name).write_text("".join(p + "\n" for p in split), encoding="utf-8")
    record = {
        "package": PACKAGE,
        "version": VERSION,
        "shasum": SHASUM,
        "integrity": INTEGRITY,
        "licence": "MIT",
        "source_files": "package/dist/quantangshi/poet.tang.*.json",
        "command": command,
        "rule": "paragraphs are exactly two lines of five CJK characters (U+4E00..U+9FFF) + ，+ five + 。; "
        f"repeats kept once; poem i goes to valid when i % {VALID_EVERY} == {VALID_EVERY - 1}",
        "poems": {"train": len(train), "valid": len(valid)},
        "sha256": {
            name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in ("train.txt", "valid.txt")
        },
    }
    (folder / "provenance.json").write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / "SOURCE.md").write_text(
        f"""# Five-character quatrains (五言绝句) of the Complete Tang Poems (全唐詩)

Extracted by `{command}` from the npm registry's [`{PACKAGE}`](https://www.npmjs.com/package/{PACKAGE}) package,
version {VERSION} (tarball SHA-1 `{SHASUM}`, integrity `{INTEGRITY}`), files `{record["source_files"]}`.
Rule: {record["rule"]}. {len(train)} training and {len(valid)} validation poems, one per line, traditional
characters as in the source. The texts are in the public domain; the collection is distributed under the MIT
licence below, which this copy keeps.

```
{licence}
```
""",
        encoding="utf-8",
    )
    return record


def quatrains_main(tarball: str | None, out: Path) -> int:
    """``seqlab quatrains [--tarball PATH]``: (re)make ``helpers/seqlab/quatrains/``."""
    command = "seqlab quatrains" + (f" --tarball {Path(tarball).name}" if tarball else "")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tarball) if tarball else fetch_tarball(Path(tmp))
        poems, licence = extract_quatrains(path)
    record = write_corpus(poems, licence, out, command)
    print(f"{record['poems']['train']} training and {record['poems']['valid']} validation quatrains -> {out}")
    return 0
