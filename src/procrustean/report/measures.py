"""A registered test as the claim the tables judge: its name, its measure in words, the column
it reads, its null and its Holm family (procrustean.measures holds the catalogue)."""

from __future__ import annotations

from procrustean.analyses import Analysis, Test
from procrustean.measures import CATALOGUE, reading, texts
from procrustean.report.claims import Claim


def claim(test: Test, family: str) -> Claim:
    """The claim a registered test makes, in Holm family ``family``."""
    measure = CATALOGUE[test.measure]
    name, words = texts(test)  # type: ignore[misc]  # the loader refused an unreadable test
    words = words.format(method=test.method, base=test.base)
    single = reading(test) == "single"
    return Claim(
        test.claim or name.format(method=test.method, base=test.base),
        words,
        measure.column,
        test.method,
        test.base,
        test.greater,
        measure.null if test.null is None and single else (test.null or 0.0),
        control=reading(test) == "balanced" and test.measure == "overfit_gap",
        holm=family,
    )


def analysis_claims(analysis: Analysis) -> list[Claim]:
    """Each distinct claim of the analysis's tests, in the file's order."""
    found = [claim(test, family.name) for family, test in analysis.tests()]
    return list(dict.fromkeys(found))
