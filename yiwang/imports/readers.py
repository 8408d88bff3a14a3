"""Reading an import file as rows of cells, streaming: CSV (UTF-8 with or without BOM, GB18030/GBK, UTF-16 with
BOM; comma, semicolon or tab) and XLSX (the first worksheet, openpyxl in read-only mode). The format comes from
the file's first bytes, never from its name.

Row numbers are the ones a spreadsheet shows: the first record of the file is row 1, so with the header on
row 1 the first case is row 2.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import itertools
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from yiwang.imports.choices import FileFormat
from yiwang.imports.mapping import looks_like_header

HEADER_SEARCH_ROWS = 20  # the header may sit below a title row or two
CHUNK = 1 << 20
# An XLSX is a zip; refuse one that would unpack into far more than any real export (a "zip bomb").
XLSX_MAX_UNPACKED = 4 << 30
XLSX_MAX_RATIO = 200
csv.field_size_limit(1 << 24)


class SourceError(Exception):
    """The file as a whole cannot be read; the run fails with this code (see yiwang.imports.messages)."""

    def __init__(self, code: str, **params):
        self.code, self.params = code, params
        super().__init__(code)


def sniff_format(head: bytes) -> str | None:
    """CSV or XLSX from the first bytes; None for anything else (an old .xls, a picture, a PDF …)."""
    if head.startswith(b"PK\x03\x04"):
        return FileFormat.XLSX
    if head.startswith(b"\xd0\xcf\x11\xe0"):  # OLE2: the old binary .xls
        return None
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return FileFormat.CSV
    sample = head[:4096]
    if b"\x00" in sample:
        return None
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return FileFormat.CSV if controls <= len(sample) // 100 else None


def detect_encoding(path: str) -> str:
    """utf-8-sig (Excel's "CSV UTF-8"), utf-16 (with a BOM), utf-8, else gb18030 (a superset of GBK and GB2312,
    what Excel saves as "CSV" on a Chinese Windows). The whole file is checked, so a file is never read halfway in
    the wrong encoding."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with open(path, "rb") as handle:
                for chunk in iter(lambda: handle.read(CHUNK), b""):  # noqa: B023 (the loop consumes it at once)
                    decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise SourceError("file_encoding")


def _delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in (",", "\t", ";")}
    return max(counts, key=lambda d: (counts[d], d == ","))


@contextlib.contextmanager
def _csv_records(path: str, encoding: str) -> Iterator[Iterator[list]]:
    with open(path, encoding=encoding, newline="") as handle:
        first = handle.readline()
        handle.seek(0)
        reader = csv.reader(handle, delimiter=_delimiter(first))
        yield _guard(reader)


def _guard(reader) -> Iterator[list]:
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise SourceError("file_unreadable", row=reader.line_num, detail=str(exc)) from None
        yield row


def check_xlsx(path: str) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = {info.filename for info in infos}
    except (zipfile.BadZipFile, OSError):
        raise SourceError("file_unreadable", row=0, detail="not a valid XLSX (zip) file") from None
    if "xl/workbook.xml" not in names:
        raise SourceError("file_type")
    unpacked = sum(info.file_size for info in infos)
    packed = sum(info.compress_size for info in infos) or 1
    if unpacked > XLSX_MAX_UNPACKED or unpacked > XLSX_MAX_RATIO * max(packed, 1 << 20):
        raise SourceError("file_too_big_unpacked")


@contextlib.contextmanager
def _xlsx_records(path: str) -> Iterator[Iterator[list]]:
    import openpyxl

    check_xlsx(path)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise SourceError("file_unreadable", row=0, detail=str(exc)) from None
    try:
        sheet = workbook.worksheets[0]
        yield (list(row) for row in sheet.iter_rows(values_only=True))
    finally:
        workbook.close()


def _xlsx_rows_declared(path: str) -> int | None:
    """The sheet's declared last row (its `dimension`), without reading the rows; None if it declares none."""
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return workbook.worksheets[0].max_row
    finally:
        workbook.close()


def is_blank(cells: list) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


@dataclass
class Table:
    """The rows below the header. `position` counts data records (blank ones too) from just below the header."""

    path: str
    file_format: str
    encoding: str = ""

    @contextlib.contextmanager
    def records(self) -> Iterator[Iterator[list]]:
        if self.file_format == FileFormat.XLSX:
            with _xlsx_records(self.path) as records:
                yield records
        else:
            with _csv_records(self.path, self.encoding) as records:
                yield records

    def find_header(self, mapping: dict) -> tuple[int, list]:
        """(row number of the header, its cells)."""
        with self.records() as records:
            for number, cells in enumerate(itertools.islice(records, HEADER_SEARCH_ROWS), start=1):
                if looks_like_header(cells, mapping):
                    return number, cells
        raise SourceError("header_missing")

    @contextlib.contextmanager
    def rows(self, header_row: int, position: int = 0) -> Iterator[Iterator[tuple[int, int, list]]]:
        """(position, row number, cells) of each non-blank data row from `position` on."""
        with self.records() as records:
            rest = itertools.islice(records, header_row + position, None)
            yield ((p, header_row + 1 + p, cells) for p, cells in enumerate(rest, start=position)
                   if not is_blank(cells))

    def count(self, header_row: int) -> int | None:
        """Data rows in the file: exact for CSV (non-blank records); for XLSX the sheet's declared size, which
        may count trailing blank rows (the run corrects the total when it finishes)."""
        if self.file_format == FileFormat.XLSX:
            declared = _xlsx_rows_declared(self.path)
            return max(0, declared - header_row) if declared else None
        with self.rows(header_row) as rows:
            return sum(1 for _row in rows)


def cell_text(value) -> str:
    """A cell as text: numbers without a spurious ".0" (a number typed into Excel as 202403050001 reads back
    as a float), dates in ISO form."""
    if value is None:
        return ""
    if isinstance(value, str):
        return (value.replace("\x00", "") if "\x00" in value else value).strip()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e17:
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return str(value).strip()
