"""The course's claims ledger: every lesson's rows are gathered, unchanged, in lesson 10's table.

Lessons 01-07 end with a "Claims ledger" table ``| claim (seed) | verdict | evidence |``, the claim often
ending with the seed's wording, ``(001: "减少参数量，也减少计算量")``, and the verdict in bold.  Lesson 10 gathers
them in one table ``| lesson | claim | 原文 (seed) | verdict | evidence |``.  These tests check that nothing was
lost or reworded on the way: the same lesson and English claim, the seed's wording, and a verdict in the category
the source's bold words say (``VERDICT_CATEGORIES`` maps every phrase a lesson uses: a new phrase fails here until
it is mapped).  The showdown's verdicts (lesson 10's own rows, and the claims earlier lessons left to it) carry a
marker ``asserted: `key` `` that names an entry of the ``SHOWDOWN_VERDICTS`` dict which the notebook asserts
against its stored results: the ledger must say what the notebook asserts.
"""

from __future__ import annotations

import ast
import itertools
import re

import nbformat
import pytest

from tests.support import COURSE

GATHERING = "10_showdown"
CATEGORIES = ("confirmed", "refuted", "it depends", "not tested")
SHOWDOWN = "decided by the lesson 10 showdown"

#: The bold words of a source verdict (joined by " / " when there are several) -> its category in lesson 10.
VERDICT_CATEGORIES = {
    "confirmed": "confirmed",
    "refuted": "refuted",
    "it depends": "it depends",
    "not tested": "not tested",
    "confirmed, with a threshold": "confirmed",
    "both right": "confirmed",  # two conventions of the GRU update, both correct
    "one of two conventions": "it depends",  # where the reset gate goes: a convention, with measurable differences
    "a description of the stages": "it depends",  # the gate order: true of the stages, not of the storage
    "not shown here": "it depends",  # peepholes: "in some scenarios", no benefit in the one tested
    "confirmed / a design choice": "confirmed",  # separate weights per direction: true, but not necessary
    "confirmed / it depends": "it depends",  # parallel computation confirmed, wall time depends
    "left to lesson 10": SHOWDOWN,
}

SEED_WORDING = re.compile(r"\s\((\d{3}: \".*)\)$")
BOLD = re.compile(r"\*\*(.+?)\*\*")
LEDGER_HEADING = re.compile(r"^#+ .*Claims ledger.*$", re.MULTILINE)
MARKER = re.compile(r"asserted: `([a-z0-9-]+)`")


def _cells(line: str) -> list[str]:
    assert line.startswith("|") and line.endswith("|"), line
    return [cell.strip() for cell in line[1:-1].split(" | ")]


def ledger_rows(lesson: str) -> list[list[str]]:
    """The rows of a lesson's claims ledger table, each a list of its cells (header and rule left out)."""
    nb = nbformat.read(COURSE.solution(lesson), as_version=4)
    ledgers = [c.source for c in nb.cells if c.cell_type == "markdown" and LEDGER_HEADING.search(c.source)]
    assert len(ledgers) == 1, f"{lesson}: one markdown cell should hold the heading 'Claims ledger'"
    after = ledgers[0][LEDGER_HEADING.search(ledgers[0]).end() :].splitlines()
    start = next(i for i, line in enumerate(after) if line.startswith("|"))
    lines = [line.strip() for line in itertools.takewhile(lambda line: line.startswith("|"), after[start:])]
    header, rule, *rows = lines
    width = len(_cells(header))
    assert set(rule.replace("|", "").split()) == {"---"}, rule
    parsed = [_cells(row) for row in rows]
    for row, cells in zip(rows, parsed, strict=True):
        assert len(cells) == width, f"{lesson}: a ledger row does not have {width} cells (a '|' in a cell?): {row}"
    return parsed


def split_claim(claim: str) -> tuple[str, str]:
    """(the English claim without its seed parenthetical, the seed's wording with its number, or "—")."""
    match = SEED_WORDING.search(claim)
    if match is None:
        return claim, "—"
    return claim[: match.start()], match.group(1)


def source_category(verdict: str) -> str:
    phrases = " / ".join(BOLD.findall(verdict))
    assert phrases in VERDICT_CATEGORIES, f"map the verdict {phrases!r} to a category in VERDICT_CATEGORIES"
    return VERDICT_CATEGORIES[phrases]


def gathered_category(verdict: str) -> str:
    phrases = BOLD.findall(verdict)
    assert phrases and phrases[0] in CATEGORIES, f"a gathered verdict starts with one of {CATEGORIES}, bold: {verdict}"
    return phrases[0]


def showdown_verdicts() -> dict[str, str]:
    """The SHOWDOWN_VERDICTS dict literal of lesson 10: claim key -> the category the notebook asserts."""
    nb = nbformat.read(COURSE.solution(GATHERING), as_version=4)
    found = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [
                    "SHOWDOWN_VERDICTS"
                ]:
                    found.append((ast.literal_eval(node.value), cell.source))
    assert len(found) == 1, "lesson 10 should define SHOWDOWN_VERDICTS once"
    verdicts, source = found[0]
    assert "assert" in source and "SHOWDOWN_VERDICTS" in source.split("SHOWDOWN_VERDICTS = ", 1)[1], (
        "the cell that defines SHOWDOWN_VERDICTS should assert them against the stored results"
    )
    assert set(verdicts.values()) <= set(CATEGORIES), verdicts
    return verdicts


SOURCES = [lesson for lesson in COURSE.lessons() if lesson < GATHERING]


def _gathered() -> list[list[str]]:
    rows = ledger_rows(GATHERING)
    assert all(len(row) == 5 for row in rows)
    return rows


def test_the_gathered_table_has_the_agreed_columns():
    nb = nbformat.read(COURSE.solution(GATHERING), as_version=4)
    ledger = next(c.source for c in nb.cells if c.cell_type == "markdown" and LEDGER_HEADING.search(c.source))
    header = next(line for line in ledger.splitlines() if line.startswith("|"))
    assert _cells(header) == ["lesson", "claim", "原文 (seed)", "verdict", "evidence"]


@pytest.mark.parametrize("lesson", SOURCES)
def test_every_claim_of_a_lesson_is_gathered_unchanged(lesson):
    number = lesson[:2]
    gathered = [row for row in _gathered() if row[0] == number]
    verdicts = showdown_verdicts()
    sources = ledger_rows(lesson)
    assert sources, f"{lesson} has an empty ledger"
    for claim_cell, verdict, _evidence in sources:
        claim, wording = split_claim(claim_cell)
        matches = [row for row in gathered if row[1] == claim]
        assert len(matches) == 1, f"lesson {number}'s claim is not in lesson 10's ledger exactly once: {claim!r}"
        _, _, gathered_wording, gathered_verdict, gathered_evidence = matches[0]
        assert gathered_wording == wording, f"{claim!r}: 原文 should be {wording!r}, is {gathered_wording!r}"
        category = source_category(verdict)
        if category == SHOWDOWN:
            marker = MARKER.search(gathered_evidence)
            assert marker, f"{claim!r} was left to lesson 10: its evidence should name the asserted showdown verdict"
            assert gathered_category(gathered_verdict) == verdicts[marker.group(1)], claim
        else:
            assert gathered_category(gathered_verdict) == category, (
                f"{claim!r}: lesson {number} says {verdict!r}, which is {category!r}; "
                f"lesson 10 says {gathered_verdict!r}"
            )
    assert len(gathered) == len(sources), f"lesson 10 lists rows for lesson {number} that lesson {number} does not have"


def test_the_showdown_verdicts_are_the_ones_the_notebook_asserts():
    verdicts = showdown_verdicts()
    rows = _gathered()
    assert {row[0] for row in rows} <= {lesson[:2] for lesson in SOURCES} | {GATHERING[:2]}
    marked = {}
    for _lesson, claim, _wording, verdict, evidence in rows:
        marker = MARKER.search(evidence)
        if _lesson == GATHERING[:2]:
            assert marker, f"lesson 10's own claim {claim!r} should name its asserted verdict (asserted: `key`)"
        if marker:
            assert marker.group(1) in verdicts, f"{claim!r}: no SHOWDOWN_VERDICTS entry {marker.group(1)!r}"
            assert gathered_category(verdict) == verdicts[marker.group(1)], (
                f"{claim!r}: the ledger says {verdict!r}, the notebook asserts {verdicts[marker.group(1)]!r}"
            )
            marked[marker.group(1)] = claim
    assert set(marked) == set(verdicts), f"asserted verdicts missing from the ledger: {set(verdicts) - set(marked)}"


def test_the_verdict_mapping_has_no_unused_phrases():
    used = {" / ".join(BOLD.findall(verdict)) for lesson in SOURCES for _, verdict, _ in ledger_rows(lesson)}
    assert set(VERDICT_CATEGORIES) - used <= {"confirmed", "refuted", "it depends", "not tested"}, (
        f"phrases no lesson uses any more: {set(VERDICT_CATEGORIES) - used - set(CATEGORIES)}"
    )


def test_one_claim_has_one_verdict():
    """Rows of the gathered ledger that quote the same seed wording judge the same claim: one verdict category."""
    by_wording: dict[str, set[tuple[str, str]]] = {}
    for lesson, _claim, wording, verdict, _evidence in _gathered():
        if wording != "—":
            by_wording.setdefault(wording, set()).add((lesson, gathered_category(verdict)))
    disagreements = {
        wording: sorted(rows) for wording, rows in by_wording.items() if len({category for _, category in rows}) > 1
    }
    assert not disagreements, "the same claim has different verdicts in different rows: " + "; ".join(
        f"{wording}: {rows}" for wording, rows in disagreements.items()
    )


def test_the_counts_in_the_gathered_ledgers_prose_are_the_tables():
    """Lesson 10's sentence "Of the N claims, a are confirmed, b refuted, c depend ..., and d was/were not tested"
    counts the gathered table's verdicts."""
    nb = nbformat.read(COURSE.solution(GATHERING), as_version=4)
    ledger = next(c.source for c in nb.cells if c.cell_type == "markdown" and LEDGER_HEADING.search(c.source))
    sentence = re.search(
        r"Of the (\d+) claims, (\d+) are confirmed, (\d+) refuted, (\d+) depend on something the claim did not say, "
        r"and (\d+) (?:was|were) not tested",
        ledger,
    )
    assert sentence, "lesson 10's ledger should say how many claims have each verdict"
    counts = [gathered_category(row[3]) for row in _gathered()]
    stated = [int(n) for n in sentence.groups()]
    assert stated == [len(counts), *(counts.count(c) for c in CATEGORIES)], (stated, len(counts))
