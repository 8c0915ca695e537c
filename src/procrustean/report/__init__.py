"""The report stage: paper-style tables and figures for one study."""

from procrustean.report.build import build_report

__all__ = ["build_report"]
