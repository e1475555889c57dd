"""Reading a source file into numbered lines without ever losing one.

Bad bytes are replaced (U+FFFD) and reported with their line, so a stray byte
costs one warning instead of the whole file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ckg.errors import SourceError
from ingest.records import Locator, Notice, ParseResult, SourceName


@dataclass(frozen=True)
class Line:
    number: int
    text: str


@dataclass
class SourceText:
    file: str
    lines: list[Line]
    warnings: list[Notice]

    def nonblank(self) -> list[Line]:
        return [ln for ln in self.lines if ln.text.strip()]


def read_source(path: Path) -> SourceText:
    """Read ``path`` as UTF-8 lines numbered from 1, stripped of trailing whitespace."""
    name = path.name
    if not path.exists():
        raise SourceError(str(path), "file not found; restore it from shared/sources or pass --sources")
    if path.is_dir():
        raise SourceError(str(path), "is a directory, expected a text file")
    data = path.read_bytes()
    if not data.strip():
        raise SourceError(str(path), "file is empty; expected the source document's text")
    warnings: list[Notice] = []
    lines: list[Line] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            text = raw.decode("utf-8", errors="replace")
            warnings.append(
                Notice(
                    locator=Locator(file=name, line=number),
                    message=(
                        f"invalid UTF-8 byte 0x{raw[exc.start]:02x} at column {exc.start + 1}; "
                        "replaced with U+FFFD, fix the file's encoding"
                    ),
                )
            )
        text = text.rstrip("\r").rstrip()
        lines.append(Line(number, text))
    if lines and not lines[-1].text and data.endswith(b"\n"):
        lines.pop()
    return SourceText(file=name, lines=lines, warnings=warnings)


def begin(path: Path, source: SourceName) -> tuple[SourceText, ParseResult]:
    """Read ``path`` and start its :class:`ParseResult`, carrying the reader's warnings."""
    src = read_source(path)
    result = ParseResult(source=source, file=src.file, lines_total=len(src.lines))
    result.warnings.extend(src.warnings)
    return src, result
