"""Checks that read what the stages recorded: up-to-date (freshness, status), audit, compare and
verify. No stage imports this package, so a change here re-runs nothing."""
