"""Read and write xlsx files, streaming: the one place that knows what an Excel file is.

Reading walks the first worksheet's XML with expat, a chunk at a time, so a 50,000-row
marketplace file is read in constant memory and about three times faster than openpyxl's
``read_only`` mode (bench/bench_import.py measures both). Cells come back as ``str``, ``int``
(integral numbers), ``float``, ``bool``, ``datetime`` (numbers in a date style) or ``None``.
Writing goes through openpyxl's ``write_only`` mode.

Column mappings (포맷설정) name a column by its header text or by its letter; ``resolve``
turns a mapping into column positions against the header row of a file.
"""
from __future__ import annotations

import datetime as dt
import posixpath
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import IO, Iterator
from xml.parsers import expat

from engine.errors import NotFound, ValidationError
from engine.models import Channel, ExcelFormat, db
from engine.schema import Field, parse
from engine.text import N_
from engine.users import require

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 1 << 18
LETTERS = re.compile(r"^[A-Za-z]{1,3}$")
# built-in number formats that show dates: the standard ones and the CJK-locale ones (27–36,
# 50–58), which Korean and Japanese Excel use for 2026년 3월 31일 / 2026年3月31日
DATE_FORMAT_IDS = set(range(14, 23)) | set(range(27, 37)) | {45, 46, 47} | set(range(50, 59))
_QUOTED = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.')


class CellError(ValueError):
    """A cell value that does not fit its column: a message id and its parameters."""

    def __init__(self, message: str, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


# --- column letters ---------------------------------------------------------------------------

def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_index(letters: str) -> int:
    """A → 0, Z → 25, AA → 26."""
    index = 0
    for ch in letters.upper():
        index = index * 26 + (ord(ch) - 64)
    return index - 1


# --- the workbook -----------------------------------------------------------------------------

def _local(name: str) -> str:
    return name[name.find(":") + 1:]


def _parse_xml(stream: IO[bytes], start=None, end=None, chars=None) -> None:
    parser = expat.ParserCreate()
    parser.buffer_text = True
    if start:
        parser.StartElementHandler = start
    if end:
        parser.EndElementHandler = end
    if chars:
        parser.CharacterDataHandler = chars
    parser.ParseFile(stream)


def _not_a_workbook(head: bytes) -> ValidationError:
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return ValidationError(N_("This is an old Excel file (.xls) or an encrypted workbook. "
                                  "Open it in Excel, save it as .xlsx and upload it again."),
                               "file")
    return ValidationError(N_("This is not an Excel file (.xlsx). Upload the file as the "
                              "channel gives it, saved as .xlsx."), "file")


@dataclass
class Sheet:
    """The first worksheet of an xlsx file; ``rows()`` streams it."""

    path: str
    name: str
    member: str
    shared: list
    date_styles: set
    date1904: bool
    total_rows: int | None     # from <dimension>, when the writer put one
    size: int = 0              # bytes of the worksheet's XML
    bytes_read: int = 0        # how far ``rows()`` got: progress without knowing the rows

    def rows(self) -> Iterator[tuple[int, list]]:
        """Yield (row number, [values]) for every row with a cell, in file order."""
        with zipfile.ZipFile(self.path) as archive, archive.open(self.member) as stream:
            yield from _sheet_rows(stream, self.shared, self.date_styles, self.date1904, self)

    @property
    def fraction(self) -> float:
        return min(1.0, self.bytes_read / self.size) if self.size else 0.0


def open_sheet(path) -> Sheet:
    """Check that ``path`` is an xlsx workbook and return its first worksheet."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    if not head.startswith(b"PK") or not zipfile.is_zipfile(path):
        raise _not_a_workbook(head)
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" not in names:
                raise _not_a_workbook(b"")
            sheet_name, member, date1904 = _first_sheet(archive)
            if member not in names:
                raise ValidationError(N_("The workbook has no worksheet."), "file")
            shared = _shared_strings(archive) if "xl/sharedStrings.xml" in names else []
            date_styles = _date_styles(archive) if "xl/styles.xml" in names else set()
            with archive.open(member) as stream:
                total = _dimension_rows(stream)
            size = archive.getinfo(member).file_size
    except (zipfile.BadZipFile, expat.ExpatError, KeyError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            raise
        raise ValidationError(N_("The Excel file is damaged and cannot be read."), "file")
    return Sheet(str(path), sheet_name, member, shared, date_styles, date1904, total, size)


def _first_sheet(archive: zipfile.ZipFile) -> tuple[str, str, bool]:
    sheets, flags = [], {}

    def start(name, attrs):
        local = _local(name)
        if local == "sheet":
            rid = next((v for k, v in attrs.items() if _local(k) == "id"), None)
            sheets.append((attrs.get("name", ""), rid))
        elif local == "workbookPr":
            flags["date1904"] = attrs.get("date1904") in ("1", "true")

    with archive.open("xl/workbook.xml") as stream:
        _parse_xml(stream, start=start)
    if not sheets:
        raise ValidationError(N_("The workbook has no worksheet."), "file")
    targets = {}

    def rel(name, attrs):
        if _local(name) == "Relationship":
            targets[attrs.get("Id")] = attrs.get("Target", "")

    if "xl/_rels/workbook.xml.rels" in archive.namelist():
        with archive.open("xl/_rels/workbook.xml.rels") as stream:
            _parse_xml(stream, start=rel)
    name, rid = sheets[0]
    target = targets.get(rid) or "worksheets/sheet1.xml"
    member = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
        posixpath.join("xl", target))
    return name, member, flags.get("date1904", False)


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    strings: list[str] = []
    parts: list[str] = []
    text: list[str] | None = None
    phonetic = 0  # <rPh> runs hold furigana: not part of the value

    def start(name, attrs):
        nonlocal text, phonetic
        local = _local(name)
        if local == "t" and not phonetic:
            text = []
        elif local == "rPh":
            phonetic += 1
        elif local == "si":
            parts.clear()

    def end(name):
        nonlocal text, phonetic
        local = _local(name)
        if local == "t" and text is not None:
            parts.append("".join(text))
            text = None
        elif local == "rPh":
            phonetic -= 1
        elif local == "si":
            strings.append("".join(parts))

    def chars(data):
        if text is not None:
            text.append(data)

    with archive.open("xl/sharedStrings.xml") as stream:
        _parse_xml(stream, start, end, chars)
    return strings


def is_date_format(code: str) -> bool:
    """True when an Excel number format shows a date or time (yyyy-mm-dd, h:mm, 년 월 일…)."""
    stripped = _QUOTED.sub("", code or "").lower()
    return bool(re.search(r"[ymdhs]", stripped.split(";")[0]))


def _date_styles(archive: zipfile.ZipFile) -> set[int]:
    """Indexes of the cell styles (``s`` attribute) whose number format is a date."""
    custom: dict[int, str] = {}
    xfs: list[int] = []
    inside = []

    def start(name, attrs):
        local = _local(name)
        if local == "numFmt":
            custom[int(attrs.get("numFmtId", "0"))] = attrs.get("formatCode", "")
        elif local in ("cellXfs", "cellStyleXfs"):
            inside.append(local)
        elif local == "xf" and inside and inside[-1] == "cellXfs":
            xfs.append(int(attrs.get("numFmtId", "0")))

    def end(name):
        if _local(name) in ("cellXfs", "cellStyleXfs"):
            inside.pop()

    with archive.open("xl/styles.xml") as stream:
        _parse_xml(stream, start, end)
    dates = set()
    for index, fmt in enumerate(xfs):
        if fmt in custom:
            if is_date_format(custom[fmt]):
                dates.add(index)
        elif fmt in DATE_FORMAT_IDS:
            dates.add(index)
    return dates


def _dimension_rows(stream: IO[bytes]) -> int | None:
    """Rows the sheet says it spans (<dimension ref="A1:L50001">), read from its first bytes."""
    head = stream.read(4096).decode("utf-8", "replace")
    match = re.search(r"<(?:\w+:)?dimension ref=\"[A-Z]*(\d*):?[A-Z]*(\d*)\"", head)
    if not match:
        return None
    first, last = match.group(1), match.group(2) or match.group(1)
    return int(last) - int(first or 1) + 1 if last else None


def serial_to_datetime(serial: float, date1904: bool = False) -> dt.datetime:
    """An Excel date serial (days since 1899-12-30, or 1904-01-01) as a naive datetime."""
    epoch = dt.datetime(1904, 1, 1) if date1904 else dt.datetime(1899, 12, 30)
    seconds = round(serial * 86400)
    return epoch + dt.timedelta(seconds=seconds)


def _sheet_rows(stream: IO[bytes], shared: list, date_styles: set, date1904: bool,
                sheet: Sheet) -> Iterator[tuple[int, list]]:
    """The expat walk over <sheetData>: callbacks fill ``ready``, the loop yields it."""
    ready: list[tuple[int, list]] = []
    cells: dict[int, object] = {}
    row_no = 0
    col = -1
    kind = "n"
    style = None
    text: list[str] | None = None
    value: str | None = None
    phonetic = 0
    col_cache: dict[str, int] = {}

    def start(name, attrs):
        nonlocal row_no, col, kind, style, text, value, phonetic
        local = name[name.find(":") + 1:]
        if local == "c":
            ref = attrs.get("r")
            if ref:
                letters = ref.rstrip("0123456789")
                index = col_cache.get(letters)
                if index is None:
                    index = col_cache[letters] = column_index(letters)
                col = index
            else:
                col += 1
            kind = attrs.get("t", "n")
            style = attrs.get("s")
            value = None
        elif local == "v" or (local == "t" and not phonetic):
            text = []
        elif local == "row":
            number = attrs.get("r")
            row_no = int(number) if number else row_no + 1
            col = -1
            cells.clear()
        elif local == "rPh":
            phonetic += 1

    def end(name):
        nonlocal text, value, phonetic
        local = name[name.find(":") + 1:]
        if local == "v" or local == "t":
            if text is not None:
                piece = "".join(text)
                value = piece if value is None else value + piece
                text = None
        elif local == "c":
            if value is None:
                return
            if kind == "n":
                if style is not None and int(style) in date_styles:
                    try:
                        cells[col] = serial_to_datetime(float(value), date1904)
                    except (ValueError, OverflowError):
                        cells[col] = value
                    return
                try:
                    number = float(value)
                except ValueError:
                    cells[col] = value
                    return
                cells[col] = int(number) if number.is_integer() and abs(number) < 2**53 \
                    else number
            elif kind == "s":
                cells[col] = shared[int(value)]
            elif kind == "b":
                cells[col] = value == "1"
            elif kind == "d":
                try:
                    cells[col] = dt.datetime.fromisoformat(value.rstrip("Z"))
                except ValueError:
                    cells[col] = value
            else:  # str, inlineStr, e (errors such as #N/A are shown as their text)
                cells[col] = value
        elif local == "row":
            if cells:
                values = [None] * (max(cells) + 1)
                for index, cell in cells.items():
                    values[index] = cell
                ready.append((row_no, values))
        elif local == "rPh":
            phonetic -= 1

    def chars(data):
        if text is not None:
            text.append(data)

    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.CharacterDataHandler = chars
    try:
        while True:
            chunk = stream.read(CHUNK)
            sheet.bytes_read += len(chunk)
            parser.Parse(chunk, not chunk)
            if ready:
                yield from ready
                ready.clear()
            if not chunk:
                break
    except (expat.ExpatError, zipfile.BadZipFile, IndexError) as exc:
        raise ValidationError(N_("The Excel file is damaged and cannot be read."), "file") \
            from exc


# --- cells --------------------------------------------------------------------------------

def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def cell_text(value) -> str:
    """A cell as text: numbers without a trailing .0, dates as yyyy-mm-dd hh:mm."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour or value.minute) \
            else value.strftime("%Y-%m-%d")
    return unicodedata.normalize("NFC", str(value)).strip()


def cell_int(value) -> int:
    """A whole number from a cell: 3, 3.0, "3", "1,200"; anything else raises CellError."""
    if isinstance(value, bool):
        raise CellError(N_("must be a whole number (found %(value)s)"), value=cell_text(value))
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise CellError(N_("must be a whole number (found %(value)s)"), value=cell_text(value))
    text = cell_text(value).replace(",", "")
    if text.startswith("-") and text[1:].isdigit() and text[1:].isascii():
        return -int(text[1:])
    if not text.isascii() or not text.isdigit():
        raise CellError(N_("must be a whole number (found %(value)s)"), value=cell_text(value))
    return int(text)


DATE_PATTERNS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y.%m.%d %H:%M:%S",
                 "%Y.%m.%d %H:%M", "%Y.%m.%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d",
                 "%Y%m%d%H%M%S", "%Y%m%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M")


def cell_datetime(value, date1904: bool = False) -> dt.datetime:
    """A naive local datetime from a date cell, a serial number or text (2026-03-31 17:00,
    2026.03.31, 20260331…); anything else raises CellError."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 1 < value < 2958466:
        return serial_to_datetime(value, date1904)
    text = cell_text(value).replace("오전", "").replace("오후", "").strip()
    text = re.sub(r"\s+", " ", text)
    for pattern in DATE_PATTERNS:
        try:
            return dt.datetime.strptime(text, pattern)
        except ValueError:
            continue
    raise CellError(N_("is not a date (found %(value)s)"), value=cell_text(value))


# --- column mappings ----------------------------------------------------------------------

def _header_key(value) -> str:
    return re.sub(r"\s+", "", cell_text(value)).casefold()


@dataclass(frozen=True)
class Column:
    """A column a mapping can name: its field, label (message id) and whether it is needed."""

    name: str
    label: str
    required: bool = False
    hint: str = ""


@dataclass(frozen=True)
class Located:
    index: int
    letter: str
    header: str


def resolve(columns: list[Column], mapping: dict, header: list) -> dict[str, Located]:
    """Find each mapped column in ``header`` (by header text first, then as a letter).

    Raises one ValidationError naming every mapped column the file does not have.
    """
    by_text: dict[str, int] = {}
    for index, value in enumerate(header):
        key = _header_key(value)
        if key and key not in by_text:
            by_text[key] = index
    found, errors = {}, {}
    for column in columns:
        ref = (mapping.get(column.name) or "").strip()
        if not ref:
            if column.required:
                errors[column.name] = ValidationError(
                    N_("The format does not say which column holds %(label)s."), column.name,
                    label=column.label)
            continue
        index = by_text.get(_header_key(ref))
        if index is None and LETTERS.match(ref):
            index = column_index(ref)
        if index is None:
            errors[column.name] = ValidationError(
                N_("Column \"%(ref)s\" (%(label)s) is not in the header row of this file."),
                column.name, ref=ref, label=column.label)
            continue
        header_text = cell_text(header[index]) if index < len(header) else ""
        found[column.name] = Located(index, column_letter(index), header_text)
    if errors:
        first = next(iter(errors.values()))
        raise ValidationError(first.message, "file", errors=errors, **first.params)
    return found


def header_and_rows(sheet: Sheet, header_row: int):
    """(header values, iterator of the rows after it); a file ending before it raises."""
    rows = sheet.rows()
    for number, values in rows:
        if number == header_row:
            return values, rows
        if number > header_row:
            break
    raise ValidationError(N_("The file has no row %(n)d, where the format expects the column "
                             "headers."), "file", n=header_row)


# --- writing ------------------------------------------------------------------------------

def write_xlsx(target, header: list[str], rows, title: str = "Sheet1") -> None:
    """Write ``header`` and ``rows`` (iterables of cell values) to ``target`` (a path or a
    binary stream) as one worksheet, streaming."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31] or "Sheet1")
    bold = Font(bold=True)
    heading = []
    for text in header:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        heading.append(cell)
    sheet.append(heading)
    sheet.freeze_panes = "A2"
    for row in rows:
        sheet.append(list(row))
    workbook.save(target)


# --- saved formats (포맷설정) ---------------------------------------------------------------

HEADER_ROW = Field("header_row", N_("Header row"), kind="int", required=True, min=1, max=100)


def format_fields(columns: list[Column], extra: list[Field] = ()) -> list[Field]:
    """The form of a column layout: one text input per column, the header row, extras."""
    fields = [Field(c.name, c.label, required=c.required, max_length=60,
                    placeholder=c.hint or N_("Header text or column letter")) for c in columns]
    return fields + [HEADER_ROW] + list(extra)


def load_format(channel_id: int, kind: str) -> ExcelFormat | None:
    return ExcelFormat.get_or_none((ExcelFormat.channel == channel_id)
                                   & (ExcelFormat.kind == kind))


def format_values(fmt: ExcelFormat | None, defaults: dict | None = None) -> dict:
    """The form's values: the saved layout, else ``defaults``."""
    if fmt is None:
        return dict(defaults or {}, header_row=(defaults or {}).get("header_row", 1))
    return {**fmt.columns, **fmt.options, "header_row": fmt.header_row}


def save_format(channel_id: int, kind: str, columns: list[Column], raw: dict, ctx,
                extra: list[Field] = ()) -> ExcelFormat:
    """Validate and store a channel's layout for ``kind`` (admins: it is configuration)."""
    require(ctx.actor, "settings")
    if Channel.get_or_none(Channel.id == channel_id) is None:
        raise NotFound(N_("Channel %(id)s does not exist."), id=channel_id)
    values = parse(format_fields(columns, extra), raw, ctx.tz)
    mapped = {c.name: values[c.name] for c in columns if values.get(c.name)}
    options = {f.name: values[f.name] for f in extra}
    with db.atomic():
        fmt = load_format(channel_id, kind)
        if fmt is None:
            fmt = ExcelFormat(channel=channel_id, kind=kind)
        fmt.header_row = values["header_row"]
        fmt.columns, fmt.options = mapped, options
        fmt.updated_at, fmt.updated_by = ctx.now, ctx.actor
        fmt.save()
    return fmt


def channel_choices():
    return [(str(c.id), c.name) for c in Channel.active_ones()]
