"""Reading and validating cases (SPEC.md sections 1 and 6).

The fast path: msgspec decodes and validates a case against the model of
:mod:`mrs_asp.cases` in one pass (a few microseconds), and three checks the
model cannot make follow (no key twice in one object, no study after the
request, no array beyond :data:`mrs_asp.cases.MAX_ENTRIES`).  When any of
this fails, :mod:`mrs_asp.case_errors` reads the document again and locates
every error.

Every bad input becomes a :class:`CaseError` naming the file, the RFC 6901
JSON Pointer of the offending place and what was expected; one bad document
raises one CaseError whose ``errors`` hold all of its errors.  No msgspec,
json or OS exception escapes :func:`parse_case`, :func:`case_from_data`,
:func:`load_case` or :func:`iter_cases`.

Pointer conventions:

* invalid JSON, an empty file, a non-object document, an unreadable or
  missing file: pointer ``''`` (the whole document, shown as
  "(whole document)");
* an unknown field, or a key given twice: the pointer of that field
  (``/findings/colour``);
* a missing required field: the pointer of the field itself
  (``/request/cpt: missing required field``);
* a study dated after the request: ``/imaging/<i>/date``;
* a duplicate id: ``/id`` of the later case.

Size limits: a case (a ``.json`` file, or one line of a ``.jsonl`` file, its
line break included) is at most :data:`MAX_CASE_BYTES`; files are read with
that bound and never whole, so ``/dev/zero`` is refused like any large file.
A ``.jsonl`` file is read line by line (memory stays flat however many cases
it holds); after a line over the limit, the rest of that file is not read.
"""

from __future__ import annotations

import os
import stat
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, NamedTuple

import msgspec

from .case_errors import CaseError, printable, show
from .cases import Case, case_data, study_after_request, too_many_entries

__all__ = ["MAX_CASE_BYTES", "CaseError", "LoadedCase", "case_from_data", "checked_case",
           "iter_cases", "iter_unread", "load_case", "parse_case", "UniqueIds", "Unread"]

# The most bytes one case may take (a .json file, or a line of a .jsonl file).
# A valid case under the array limits takes a few kilobytes.
MAX_CASE_BYTES = 1 << 20
_LIMIT_WORDS = "1 MiB"


@dataclass(eq=False)
class LoadedCase:
    """A valid case and where it came from.

    ``raw`` is the case as given, as plain JSON data (parsed lazily from the
    original text and cached).  It is shared: copy it before mutating it.
    A LoadedCase made by this module's readers is known valid; one built by
    hand has its ``case`` validated by :func:`mrs_asp.decide`.
    """

    source: str
    case: Case
    text: bytes | str | None = field(default=None, repr=False)
    _raw: dict[str, Any] | None = field(default=None, init=False, repr=False)
    _checked: bool = field(default=False, init=False, repr=False)

    @property
    def raw(self) -> dict[str, Any]:
        raw = self._raw
        if raw is None:
            if self.text is not None:
                raw = msgspec.json.decode(self.text)
            else:
                raw = case_data(self.case)
            self._raw = raw
        return raw

    @property
    def id(self) -> str:
        return self.case.id


_decode = msgspec.json.Decoder(Case).decode
_encode = msgspec.json.encode
_BOM = b"\xef\xbb\xbf"
# No key twice: msgspec keeps the last of two equal keys silently.  Every key
# is followed by a colon, and a colon elsewhere stands in a string, written
# as ':' or escaped as '\u003a'.  The colons of the text as given, escaped
# ones included, are therefore at least the keys given plus the colons of the
# strings kept; msgspec's encoding of the decoded case (each colon literal)
# holds exactly the keys kept plus those same colons.  Equal counts prove that
# no key was given twice; unequal ones send the text to the error path, which
# decides.
def _colons(data: bytes) -> int:
    colons = data.count(b":")
    if b"\\u" in data:
        colons += data.count(b"\\u003a") + data.count(b"\\u003A")
    return colons


def _errors(data: bytes | str, source: str) -> CaseError | None:
    from .case_errors import text_errors
    errors = text_errors(data, source)
    return CaseError.of(errors) if errors else None


def parse_case(data: bytes | bytearray | memoryview | str, source: str) -> LoadedCase:
    """Validate one JSON document as a case; raises :class:`CaseError` (carrying
    every error of the document).  ``data`` that is not text or bytes raises
    TypeError."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    elif not isinstance(data, bytes):
        if not isinstance(data, (bytearray, memoryview)):
            raise TypeError(f"parse_case takes the JSON text (str or bytes), got "
                            f"{type(data).__name__}")
        data = bytes(data)
    if data[:3] == _BOM:
        data = data[3:]
    if len(data) > MAX_CASE_BYTES:
        raise CaseError(source, "", f"a case of {len(data)} bytes: expected at most "
                                    f"{_LIMIT_WORDS} ({MAX_CASE_BYTES} bytes)")
    try:
        case = _decode(data)
    except (msgspec.MsgspecError, RecursionError):
        raise _errors(data, source) or CaseError(
            source, "", "not a valid case (the place could not be named)") from None
    if ((case.imaging is not None and study_after_request(case) is not None)
            or too_many_entries(case) is not None
            or _colons(data) != _encode(case).count(b":")):
        error = _errors(data, source)
        if error is not None:
            raise error
    loaded = LoadedCase(source, case, data)
    loaded._checked = True
    return loaded


def validated_case(data: bytes | str, source: str) -> LoadedCase:
    """:func:`parse_case` of a text that :func:`parse_case` has already accepted
    (in this process or the one that sent it, mrs_asp/run.py): decoded only,
    without the checks that found it valid. Not for text from anywhere else."""
    loaded = LoadedCase(source, _decode(data), data)
    loaded._checked = True
    return loaded


def case_from_data(data: Any, source: str = "(data)") -> Case:
    """Validate plain data (a dict as ``json.loads`` gives it; dates may also be
    ``datetime.date``) as a case; raises :class:`CaseError`."""
    try:
        case = msgspec.convert(data, Case)
    except (msgspec.MsgspecError, RecursionError):
        case = None
    if case is None or study_after_request(case) is not None or too_many_entries(case):
        from .case_errors import document_errors
        try:
            errors = document_errors(data, source, python=True)
        except RecursionError:
            errors = [CaseError(source, "", "expected a JSON object nested as a case is, "
                                            "got data nested too deep to read")]
        if errors:
            raise CaseError.of(errors)
        if case is None:
            raise CaseError(source, "", f"expected a case as plain JSON data, got "
                                        f"{type(data).__name__} holding other kinds of values")
    return case


def checked_case(case: Any, source: str = "(case)") -> Case:
    """``case`` validated: a :class:`~mrs_asp.cases.Case` (built directly, its
    values unchecked by the constructor) or plain data.  Raises CaseError."""
    if isinstance(case, Case):
        try:
            data = msgspec.to_builtins(case)
        except (TypeError, ValueError, RecursionError):
            raise CaseError(source, "", "expected a case holding JSON values only") from None
        return case_from_data(data, source)
    if isinstance(case, dict):
        return case_from_data(case, source)
    raise CaseError(source, "", f"expected a case (a Case, a LoadedCase or a JSON object), "
                                f"got {type(case).__name__}")


# --------------------------------------------------------------------------
# Files


def _os_error(source: str, exc: OSError | ValueError, doing: str = "cannot read") -> CaseError:
    if isinstance(exc, ValueError):  # os.stat and open refuse a NUL in a path
        return CaseError(source, "", f"{doing}: the path holds a NUL character")
    if isinstance(exc, FileNotFoundError):
        return CaseError(source, "", "no such file or directory")
    if isinstance(exc, IsADirectoryError):
        return CaseError(source, "", "expected a file, got a directory")
    reason = (exc.strerror or str(exc)).lower()
    return CaseError(source, "", f"{doing}: {reason}")


def _too_large(source: str, what: str) -> CaseError:
    return CaseError(source, "", f"{what} larger than {_LIMIT_WORDS} ({MAX_CASE_BYTES} bytes), "
                                 "the limit for one case")


_NOT_FILES = {stat.S_IFIFO: "a named pipe", stat.S_IFSOCK: "a socket"}


def _open(path: str, source: str) -> BinaryIO:
    """``path`` opened for reading; CaseError for what cannot be read as a file
    (a pipe or socket would block, so is refused before it is opened)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError) as exc:
        raise _os_error(source, exc) from None
    kind = _NOT_FILES.get(stat.S_IFMT(mode))
    if kind is not None:
        raise CaseError(source, "", f"expected a file, got {kind}")
    if stat.S_ISDIR(mode):
        raise CaseError(source, "", "expected a file, got a directory")
    try:
        return open(path, "rb")
    except (OSError, ValueError) as exc:
        raise _os_error(source, exc) from None


def _read(path: str, source: str) -> bytes:
    """A whole case file, read with a bound."""
    with _open(path, source) as file:
        try:
            data = file.read(MAX_CASE_BYTES + 1)
        except OSError as exc:
            raise _os_error(source, exc) from None
    if len(data) > MAX_CASE_BYTES:
        raise _too_large(source, "a file")
    return data


def load_case(path: str | os.PathLike[str]) -> LoadedCase:
    """Load one .json file holding one case; raises :class:`CaseError`."""
    source = os.fspath(path)
    data = _read(source, source)
    if not data.strip():
        raise CaseError(source, "", "empty file: expected a JSON object")
    return parse_case(data, source)


class Unread(NamedTuple):
    """A line of JSON Lines not yet read as a case (:func:`iter_unread`)."""

    source: str  # file:line
    text: bytes


Item = LoadedCase | CaseError | Unread


class _Lines:
    """The lines of a file, each read with a bound, with a way to put lines back."""

    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        self.number = 0
        self.back: deque[tuple[int, bytes]] = deque()

    def next(self) -> tuple[int, bytes | None]:
        """(line number, the line; b'' at the end of the file, None if the line
        is over the limit)."""
        if self.back:
            return self.back.popleft()
        line = self.file.readline(MAX_CASE_BYTES + 1)
        if not line:
            return self.number, b""
        self.number += 1
        return self.number, (line if len(line) <= MAX_CASE_BYTES else None)


def _pretty_case(first: bytes, lines: _Lines) -> int | None:
    """The last line of a case pretty-printed over several lines, starting with
    ``first`` (a line '{'), if that is what follows; otherwise the lines read
    are put back."""
    taken: list[tuple[int, bytes]] = []
    size = len(first)
    while size <= MAX_CASE_BYTES:
        number, line = lines.next()
        if not line:
            break
        taken.append((number, line))
        size += len(line)
        if line.rstrip() == b"}":  # the closing brace of a top-level object
            try:
                msgspec.json.decode(first + b"".join(text for _, text in taken))
            except (msgspec.MsgspecError, RecursionError):
                break
            return number
    lines.back.extend(taken)
    return None


def _iter_jsonl(path: str, source: str, defer: bool = False) -> Iterator[Item]:
    try:
        file = _open(path, source)
    except CaseError as err:
        yield err
        return
    with file:
        yield from _iter_lines(_Lines(file), source, defer)


#: The path that means standard input, and how its cases are named in messages.
STDIN, STDIN_SOURCE = "-", "<stdin>"


def _iter_stdin(defer: bool = False) -> Iterator[Item]:
    """Standard input (``-``): one case per line when its first line is a whole
    JSON document, else one JSON case (pretty-printed); read with the same bounds."""
    lines = _Lines(sys.stdin.buffer)
    try:
        number, first = lines.next()
    except OSError as exc:
        yield _os_error(STDIN_SOURCE, exc)
        return
    if first is not None:
        try:
            msgspec.json.decode(first.removeprefix(_BOM))
        except (msgspec.MsgspecError, RecursionError):
            try:
                data = first + sys.stdin.buffer.read(MAX_CASE_BYTES + 1 - len(first))
            except OSError as exc:
                yield _os_error(STDIN_SOURCE, exc)
                return
            if len(data) > MAX_CASE_BYTES:
                yield _too_large(STDIN_SOURCE, "standard input")
                return
            if not data.strip():
                yield CaseError(STDIN_SOURCE, "", "empty standard input: expected a JSON "
                                                  "case or one case per line")
                return
            try:
                yield parse_case(data, STDIN_SOURCE)
            except CaseError as err:
                yield err
            return
    lines.back.append((number, first))
    yield from _iter_lines(lines, STDIN_SOURCE, defer)


def _iter_lines(lines: _Lines, source: str, defer: bool = False) -> Iterator[Item]:
    """The cases of a JSON Lines stream, one per non-blank line; with
    ``defer``, a line that may be a case is yielded :class:`Unread` (a lone
    ``{``, which never is one, is read here: its error needs the lines after it)."""
    found = False
    while True:
        try:
            number, line = lines.next()
        except OSError as exc:
            yield _os_error(f"{source}:{lines.number + 1}", exc)
            return
        if line is None:
            yield CaseError(f"{source}:{number}", "", f"a line larger than {_LIMIT_WORDS} "
                            f"({MAX_CASE_BYTES} bytes), the limit for one case; the rest "
                            "of the file is not read")
            return
        if not line:
            break
        if number == 1 and line[:3] == _BOM:
            line = line[3:]
        if line.isspace():
            continue
        if line[-1:] == b"\n":
            line = line[:-2] if line[-2:] == b"\r\n" else line[:-1]
        found = True
        where = f"{source}:{number}"
        fhir = _fhir(line, where)
        if fhir is not None:
            yield from fhir
            continue
        if defer and line.strip() != b"{":
            yield Unread(where, line)
            continue
        try:
            yield parse_case(line, where)
        except CaseError as err:
            last = None
            if line.strip() == b"{":
                try:
                    last = _pretty_case(line, lines)
                except OSError:
                    last = None
            if last is not None:
                err = CaseError(where, "", f"invalid JSON Lines: one case pretty-printed "
                                           f"over lines {number}-{last}; expected each "
                                           "case whole on one line")
            yield err
    if not found:
        yield CaseError(source, "", "empty file: expected one JSON object per line")


def _iter_directory(path: str, source: str, recursive: bool, defer: bool = False
                    ) -> Iterator[Item]:
    """The ``*.json`` files of a directory by name (hidden ones and the
    ``*.expected.json`` of FHIR inputs skipped), then, with ``recursive``, its
    sub-directories (cases/fhir/)."""
    files, folders = [], []
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    if recursive and entry.is_dir():
                        folders.append(entry.name)
                        continue
                    if not entry.name.endswith(".json") or entry.name.endswith(_EXPECTED) \
                            or not entry.is_file():
                        continue
                except OSError:
                    if not entry.name.endswith(".json"):
                        continue  # a .json entry that cannot be looked at: reading it says why
                files.append(entry.name)
    except (OSError, ValueError) as exc:
        yield _os_error(source, exc, "cannot read directory")
        return
    for name in sorted(files) + sorted(folders):
        yield from _iter_path(os.path.join(path, name), recursive, defer)


def _iter_path(path: str | os.PathLike[str], recursive: bool = False, defer: bool = False
               ) -> Iterator[Item]:
    source = os.fspath(path)
    if source == STDIN:
        yield from _iter_stdin(defer)
        return
    try:
        is_dir = stat.S_ISDIR(os.stat(source).st_mode)
    except (OSError, ValueError) as exc:
        yield _os_error(source, exc)
        return
    if is_dir:
        yield from _iter_directory(source, source, recursive, defer)
        return
    if source.endswith(".jsonl"):
        yield from _iter_jsonl(source, source, defer)
        return
    try:
        data = _read(source, source)
        if not data.strip():
            raise CaseError(source, "", "empty file: expected a JSON object")
        fhir = _fhir(data, source, source)
        if fhir is not None:
            yield from fhir
            return
        yield parse_case(data, source)
    except CaseError as err:
        yield err


# A FHIR input (FHIR.md F2: a PAS request Bundle, a CDS Hooks request) holds one
# of these keys, which no case has; only then is mrs_asp.fhir imported.
_FHIR_MARKS = (b'"resourceType"', b'"hookInstance"')
_EXPECTED = ".expected.json"


def _fhir(data: bytes, source: str, path: str | None = None
          ) -> list[LoadedCase | CaseError] | None:
    """The cases of a FHIR input (or its error), or None if ``data`` is no FHIR
    input.  X.expected.json beside a FHIR input X.json holds its expected answers."""
    if not any(mark in data for mark in _FHIR_MARKS):
        return None
    from .cases import Expected
    from .fhir.read import read_bytes
    expected = None
    if path is not None and path.endswith(".json"):
        sidecar = path[:-len(".json")] + _EXPECTED
        if os.path.isfile(sidecar):
            try:
                expected = msgspec.json.decode(_read(sidecar, sidecar), type=dict[str, Expected])
            except CaseError as err:
                return [err]
            except msgspec.MsgspecError as exc:
                return [CaseError(sidecar, "", f"expected an object of case id -> "
                                  f"expected answer: {printable(str(exc))}")]
    try:
        return read_bytes(data, source, expected)
    except CaseError as err:
        return [err]


def iter_cases(
    paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
    recursive: bool = False,
) -> Iterator[LoadedCase | CaseError]:
    """Yield every case (or the error in its place) from files, in input order.

    A ``.jsonl`` file holds one case per non-blank line (source 'file:lineno');
    a directory means its ``*.json`` files (sorted by name, hidden files and
    ``*.expected.json`` skipped; with ``recursive``, then its sub-directories,
    as a case library is read); ``-`` is standard input (one case, or one per
    line); any other file is one JSON case, or, if it is
    a FHIR input (FHIR.md F2), the cases derived from it.  A bad path or a
    bad case yields a :class:`CaseError` (with every error of that document in
    its ``errors``) and iteration goes on; nothing else is raised for anything
    in the files or the file system.  A case whose ``id`` was already seen in
    this call yields a CaseError at ``/id``.  A path that is neither ``str``
    nor ``os.PathLike`` raises TypeError.
    """
    ids = UniqueIds()
    for item in _items(paths, recursive, defer=False):
        if isinstance(item, LoadedCase):
            repeated = ids.repeated(item.case.id, item.source)
            if repeated is not None:
                yield repeated
                continue
        yield item


def iter_unread(paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str]
                ) -> Iterator[LoadedCase | CaseError | Unread]:
    """:func:`iter_cases`, but each line of JSON Lines that may be a case is
    yielded :class:`Unread`, for the reader to validate with :func:`parse_case`
    (mrs_asp/run.py has worker processes do it), and no id is checked for
    repeats: the reader checks each valid case with one :class:`UniqueIds`,
    in input order, as iter_cases does."""
    return _items(paths, False, defer=True)


def _items(paths, recursive: bool, defer: bool) -> Iterator[Item]:
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    for path in paths:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"iter_cases takes paths, got {type(path).__name__}")
        yield from _iter_path(path, recursive, defer)


class UniqueIds:
    """The ids of the valid cases met so far, in input order, and where each was."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def repeated(self, cid: str, source: str) -> CaseError | None:
        """The error of a valid case (id ``cid``, read from ``source``) whose id
        an earlier case has: it is not to be decided; else None, and the id is
        taken."""
        first = self.seen.get(cid)
        if first is not None:
            return CaseError(source, "/id", f"expected a unique id, got {show(cid)}, "
                                            f"already the id of {printable(first)}")
        self.seen[cid] = source
        return None
