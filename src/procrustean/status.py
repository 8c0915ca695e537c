"""``procrustean status``: outputs made by code that differs from this tree.

Neither engine re-runs a stage when the Python code it calls changes (Snakemake's code trigger
covers only code inside rules; DVC hashes declared files). Every provenance record lists the
sha256 of each procrustean source file the stage imported, so a code edit is never silent: this
command names the changed files and the outputs they made.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from procrustean.audit import SEARCH_ROOTS, index_records
from procrustean.lineage import current_code_hash


@dataclass
class CodeStatus:
    """Records checked, records made by changed code (by code file), records without code hashes."""

    records: int = 0
    stale: dict[str, list[str]] = field(default_factory=dict)  # code file -> record paths
    untracked: int = 0

    def stale_records(self) -> set[str]:
        return {r for recs in self.stale.values() for r in recs}

    def lines(self, limit: int = 5) -> list[str]:
        out = []
        if not self.stale:
            out.append(
                f"status: all {self.records} provenance records were made by the code in this tree"
            )
        else:
            out.append(
                f"status: {len(self.stale_records())} of {self.records} outputs were made by code "
                f"that differs from this tree ({len(self.stale)} files changed)"
            )
            for code_file, recs in sorted(self.stale.items()):
                shown = ", ".join(r.removesuffix(".prov.json") for r in sorted(recs)[:limit])
                more = f" and {len(recs) - limit} more" if len(recs) > limit else ""
                out.append(f"  {code_file} changed: {len(recs)} outputs ({shown}{more})")
            out.append(
                "  re-run them: snakemake --cores all --forcerun <rule> <study>, or "
                "dvc repro --force <stage>"
            )
        if self.untracked:
            out.append(f"  ({self.untracked} records predate code tracking and were not checked)")
        return out


def code_status(study: str | None = None, roots: tuple[str, ...] = SEARCH_ROOTS) -> CodeStatus:
    """Compare every record's code hashes (of ``study`` only, if given) with this tree."""
    status = CodeStatus()
    current: dict[str, str | None] = {}
    seen: set[str] = set()
    for rec_path, record in index_records(roots).values():
        if rec_path in seen or (study and f"/{study}/" not in f"/{rec_path}"):
            continue
        seen.add(rec_path)
        status.records += 1
        code = record.get("code_files")
        if not code:
            status.untracked += 1
            continue
        for code_file, digest in code.items():
            if code_file not in current:
                current[code_file] = current_code_hash(code_file)
            if current[code_file] != digest:
                status.stale.setdefault(code_file, []).append(rec_path)
    return status
