"""The decision log: every decision the service makes, in SQLite.

A record holds the input as received (bytes), the case derived from it, the
answer (SPEC section 5 JSON), the knowledge base's fingerprint, the guideline
version, the endpoint that was called and the time. One call's records are
one transaction, committed before the answer is sent: after a crash every
answered decision is there, and no record is half-written.

The database runs in WAL mode. ``synchronous=FULL`` (the default here) syncs
the log on every commit, so a committed decision survives a power loss as
well as a killed process; ``durability="normal"`` survives a killed process
only (SQLite's documented trade-off) and is quicker on slow disks.

Only the standard library's ``sqlite3`` is used: ``mrs-asp decisions`` reads
the log without importing the web framework.
"""

from __future__ import annotations

import datetime as _dt
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["DecisionLog", "NewRecord", "Record", "StoreError", "default_db_path"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    id                TEXT NOT NULL UNIQUE,
    recorded_at       TEXT NOT NULL,
    endpoint          TEXT NOT NULL,
    case_id           TEXT NOT NULL,
    determination     TEXT NOT NULL,
    input             BLOB NOT NULL,
    input_type        TEXT NOT NULL,
    derived_case      TEXT NOT NULL,
    answer            TEXT NOT NULL,
    kb_fingerprint    TEXT NOT NULL,
    guideline_version TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_case_id ON decisions (case_id);
CREATE TABLE IF NOT EXISTS feedback (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    recorded_at TEXT NOT NULL,
    service     TEXT NOT NULL,
    body        BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS seen_tokens (
    issuer  TEXT NOT NULL,
    jti     TEXT NOT NULL,
    expires INTEGER NOT NULL,
    PRIMARY KEY (issuer, jti)
);
"""


class StoreError(Exception):
    """The decision log cannot be opened or written."""


def default_db_path() -> Path:
    """``mrs-asp-decisions.sqlite3`` in the current directory."""
    return Path("mrs-asp-decisions.sqlite3")


@dataclass(frozen=True)
class NewRecord:
    """What the service hands the log for one decided case."""

    endpoint: str
    case_id: str
    determination: str
    input: bytes
    input_type: str  # "case", "pas", "crd"
    derived_case: bytes  # JSON of the case that was decided
    answer: bytes  # JSON of the SPEC section 5 answer
    kb_fingerprint: str
    guideline_version: str


@dataclass(frozen=True)
class Record:
    """One recorded decision, as read back."""

    id: str
    recorded_at: str
    endpoint: str
    case_id: str
    determination: str
    input: bytes
    input_type: str
    derived_case: str
    answer: str
    kb_fingerprint: str
    guideline_version: str

    def to_json(self) -> dict[str, Any]:
        """The record as JSON data; the input is shown as text when it is UTF-8 JSON."""
        try:
            given: Any = json.loads(self.input)
        except (ValueError, UnicodeDecodeError):
            given = self.input.decode("utf-8", "replace")
        return {
            "id": self.id,
            "recorded_at": self.recorded_at,
            "endpoint": self.endpoint,
            "case_id": self.case_id,
            "determination": self.determination,
            "kb_fingerprint": self.kb_fingerprint,
            "guideline_version": self.guideline_version,
            "input_type": self.input_type,
            "input": given,
            "case": json.loads(self.derived_case),
            "answer": json.loads(self.answer),
        }

    def summary(self) -> dict[str, str]:
        return {"id": self.id, "recorded_at": self.recorded_at, "endpoint": self.endpoint,
                "case_id": self.case_id, "determination": self.determination}


_COLUMNS = ("id, recorded_at, endpoint, case_id, determination, input, input_type, "
            "derived_case, answer, kb_fingerprint, guideline_version")


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")


class DecisionLog:
    """A SQLite decision log. One connection, guarded by a lock, so the log may be
    shared by the threads of one process; other processes may read it at any time
    (WAL)."""

    def __init__(self, path: str | Path, *, durability: str = "full",
                 create: bool = True) -> None:
        self.path = Path(path)
        self.durability = durability
        if not create and not self.path.is_file():
            raise StoreError(f"{self.path}: no such decision log")
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._create = create
        self._connect()

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                 timeout=10.0)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={'FULL' if self.durability == 'full' else 'NORMAL'}")
            db.execute("PRAGMA busy_timeout=10000")
            if self._create:
                db.executescript(_SCHEMA)
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            else:
                db.execute("SELECT 1 FROM decisions LIMIT 1")
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open the decision log: {exc}") from None
        self._db = db
        return db

    @property
    def db(self) -> sqlite3.Connection:
        """The connection (opened again after :meth:`close`); use under ``_lock``."""
        return self._db if self._db is not None else self._connect()

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def ping(self) -> bool:
        """Whether the log answers a query (for ``/readyz``)."""
        try:
            with self._lock:
                self.db.execute("SELECT 1").fetchone()
            return True
        except sqlite3.Error:
            return False

    def record(self, records: Sequence[NewRecord]) -> list[str]:
        """Commit ``records`` in one transaction; their ids, in order."""
        ids = [uuid.uuid4().hex for _ in records]
        when = _now()
        rows = [(i, when, r.endpoint, r.case_id, r.determination, r.input, r.input_type,
                 r.derived_case.decode() if isinstance(r.derived_case, bytes) else r.derived_case,
                 r.answer.decode() if isinstance(r.answer, bytes) else r.answer,
                 r.kb_fingerprint, r.guideline_version) for i, r in zip(ids, records)]
        try:
            with self._lock:
                self.db.execute("BEGIN IMMEDIATE")
                try:
                    self.db.executemany(
                        f"INSERT INTO decisions ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
                    self.db.execute("COMMIT")
                except BaseException:
                    self.db.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot record the decision: {exc}") from None
        return ids

    def get(self, decision_id: str) -> Record | None:
        with self._lock:
            row = self.db.execute(f"SELECT {_COLUMNS} FROM decisions WHERE id = ?",
                                   (decision_id,)).fetchone()
        return Record(*row) if row else None

    def list(self, *, limit: int = 50, case_id: str | None = None,
             determination: str | None = None) -> list[Record]:
        """The most recent records first."""
        where, args = [], []
        if case_id is not None:
            where.append("case_id = ?")
            args.append(case_id)
        if determination is not None:
            where.append("determination = ?")
            args.append(determination)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        with self._lock:
            rows = self.db.execute(
                f"SELECT {_COLUMNS} FROM decisions {clause} ORDER BY seq DESC LIMIT ?",
                (*args, limit)).fetchall()
        return [Record(*row) for row in rows]

    def count(self) -> int:
        with self._lock:
            return self.db.execute("SELECT count(*) FROM decisions").fetchone()[0]

    def iter_all(self) -> Iterator[Record]:
        with self._lock:
            rows = self.db.execute(f"SELECT {_COLUMNS} FROM decisions ORDER BY seq").fetchall()
        for row in rows:
            yield Record(*row)

    def record_feedback(self, service: str, body: bytes) -> str:
        feedback_id = uuid.uuid4().hex
        try:
            with self._lock:
                self.db.execute(
                    "INSERT INTO feedback (id, recorded_at, service, body) VALUES (?,?,?,?)",
                    (feedback_id, _now(), service, body))
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot record the feedback: {exc}") from None
        return feedback_id

    def feedback(self, service: str | None = None) -> list[tuple[str, str, str, bytes]]:
        with self._lock:
            if service is None:
                return self.db.execute(
                    "SELECT id, recorded_at, service, body FROM feedback ORDER BY seq").fetchall()
            return self.db.execute(
                "SELECT id, recorded_at, service, body FROM feedback WHERE service = ? "
                "ORDER BY seq", (service,)).fetchall()

    def first_use_of_token(self, issuer: str, jti: str, expires: int) -> bool:
        """Remember a token's ``jti`` until it expires; False if it was already seen."""
        now = int(time.time())
        try:
            with self._lock:
                self.db.execute("DELETE FROM seen_tokens WHERE expires < ?", (now - 3600,))
                self.db.execute("INSERT INTO seen_tokens (issuer, jti, expires) VALUES (?,?,?)",
                                 (issuer, jti, expires))
        except sqlite3.IntegrityError:
            return False
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot record the token: {exc}") from None
        return True
