"""Findings: what the policy-author checks (lint, coverage, ...) report.

A finding names its kind, a severity, the criteria it concerns, a message for
a person, and optionally a witness (machine-readable detail) and a location
(``kb/30_indications.lp:42``). Severities are ordered ``info < warning <
error``; a tool fails when a finding is at or above its threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SEVERITIES", "Finding", "at_or_above"]

#: Severities, from least to most severe.
SEVERITIES: tuple[str, ...] = ("info", "warning", "error")


def _rank(severity: str) -> int:
    try:
        return SEVERITIES.index(severity)
    except ValueError:
        raise ValueError(
            f"unknown severity {severity!r}: expected one of {', '.join(SEVERITIES)}") from None


def at_or_above(severity: str, threshold: str) -> bool:
    """True when ``severity`` is at least as severe as ``threshold``."""
    return _rank(severity) >= _rank(threshold)


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: str  # 'info' | 'warning' | 'error'
    criteria: tuple[str, ...]
    message: str
    witness: dict | None = None
    location: str | None = None  # 'kb/30_indications.lp:42'

    def __post_init__(self) -> None:
        _rank(self.severity)  # reject an unknown severity early
        if not isinstance(self.criteria, tuple):
            object.__setattr__(self, "criteria", tuple(self.criteria))

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "criteria": list(self.criteria),
            "message": self.message,
            "witness": self.witness,
            "location": self.location,
        }

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}{self.severity}: {self.message} [{self.kind}]"
