"""HTML building blocks of the report: escaping, value formatting, tables, embedded figures, the page.

Everything here returns strings of HTML. The page is self-contained: CSS is inline, images are
base64 ``data:image/png`` URIs, and nothing refers to the network or needs JavaScript.
"""

from __future__ import annotations

import base64
import html
import json
import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "Section",
    "esc",
    "fmt_value",
    "flatten",
    "table",
    "kv_table",
    "png_info",
    "figure_html",
    "figure_from_bytes",
    "note",
    "page",
]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CSS_PX_PER_INCH = 96
# Widest a figure is drawn, in CSS px (the content column is 1040 px wide).
MAX_FIGURE_PX = 1000


@dataclass
class Section:
    """One report section: an anchor id, a title, its HTML body and whether its inputs were found."""

    anchor: str
    title: str
    body: str = ""
    ran: bool = True
    missing_hint: str = ""
    children: list[tuple[str, str]] = field(default_factory=list)  # (anchor, title) sub-entries for the TOC


def esc(text: Any) -> str:
    """HTML-escape ``str(text)`` (quotes included)."""
    return html.escape(str(text), quote=True)


def fmt_value(value: Any, *, digits: int = 4, trim: bool = False) -> str:
    """Human-readable text for one table cell (not escaped).

    Integers get thousands separators; floats get ``digits`` decimals below 1,000 (trailing zeros
    dropped when ``trim``) and separators above; ``None`` and non-finite floats show as an em dash;
    lists of scalars are joined.
    """
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        if value != 0 and abs(value) < 10 ** (-digits):
            return f"{value:.2e}"
        if abs(value) >= 1000:
            return f"{value:,.1f}" if value != int(value) else f"{int(value):,}"
        text = f"{value:.{digits}f}"
        return text.rstrip("0").rstrip(".") if trim and "." in text else text
    if isinstance(value, (list, tuple)):
        if all(not isinstance(v, (dict, list, tuple)) for v in value):
            text = ", ".join(fmt_value(v, digits=digits, trim=True) for v in value)
        else:
            text = json.dumps(value, default=str)
        return text if len(text) <= 300 else text[:297] + "…"
    if isinstance(value, Mapping):
        text = json.dumps(value, default=str)
        return text if len(text) <= 300 else text[:297] + "…"
    # numpy scalars and anything else with a Python equivalent
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return fmt_value(item(), digits=digits, trim=trim)
        except (TypeError, ValueError):
            pass
    return str(value)


def flatten(obj: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested dicts to ``(dotted.key, value)`` pairs, in order; lists are kept as values."""
    if isinstance(obj, Mapping):
        if not obj and prefix:
            return [(prefix, "{}")]
        out: list[tuple[str, Any]] = []
        for k, v in obj.items():
            out.extend(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return [(prefix, obj)]


def _is_numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def table(
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    caption: str | None = None,
    cls: str = "",
    digits: int = 4,
    trim: bool = False,
    group_rows: Sequence[int] = (),
) -> str:
    """An HTML table; numeric cells are right-aligned, cells are formatted with :func:`fmt_value`.

    A cell may be a ``(value, css_class)`` pair to style it. Row indices in ``group_rows`` are
    drawn as group headers (their first cell spans the table).
    """
    out = [f'<table class="{esc(cls)}">' if cls else "<table>"]
    if caption:
        out.append(f"<caption>{esc(caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr></thead><tbody>")
    groups = set(group_rows)
    for i, row in enumerate(rows):
        if i in groups:
            out.append(f'<tr class="group"><th colspan="{len(header)}">{esc(row[0])}</th></tr>')
            continue
        cells = []
        for cell in row:
            klass = ""
            if isinstance(cell, tuple) and len(cell) == 2 and isinstance(cell[1], str):
                cell, klass = cell
            if _is_numeric(cell) or (hasattr(cell, "dtype") and getattr(cell, "ndim", 1) == 0):
                klass = (klass + " num").strip()
            attr = f' class="{esc(klass)}"' if klass else ""
            cells.append(f"<td{attr}>{esc(fmt_value(cell, digits=digits, trim=trim))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def kv_table(pairs: Iterable[tuple[str, Any]], *, header: Sequence[str] = ("key", "value"),
             caption: str | None = None) -> str:
    """A two-column table of key/value pairs (e.g. the output of :func:`flatten`)."""
    return table(header, [(k, v) for k, v in pairs], caption=caption, cls="kv", trim=True)


def png_info(data: bytes) -> tuple[int, int, float | None] | None:
    """``(width_px, height_px, dpi or None)`` of PNG bytes, or ``None`` when they are not a PNG.

    The dpi comes from the ``pHYs`` chunk (matplotlib writes it), converted from pixels per metre.
    """
    if len(data) < 33 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    dpi = None
    pos = 8
    while pos + 8 <= len(data):
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        if ctype == b"pHYs" and length == 9:
            ppu_x, _ppu_y, unit = struct.unpack(">IIB", data[pos + 8:pos + 17])
            if unit == 1 and ppu_x > 0:
                dpi = ppu_x * 0.0254
            break
        if ctype == b"IDAT":
            break
        pos += 12 + length
    return width, height, dpi


def figure_from_bytes(data: bytes, *, caption: str = "", alt: str = "", max_px: int = MAX_FIGURE_PX,
                      name: str = "") -> str:
    """A ``<figure>`` with PNG ``data`` embedded as a base64 data URI and a caption.

    The figure is drawn at its physical size (pixels / dpi x 96 CSS px per inch), capped at
    ``max_px`` CSS px and at the width of the page. Bytes that are not a PNG give a warning note
    instead of a broken image.
    """
    info = png_info(data)
    if info is None:
        return note(f"{name or 'figure'} is not a valid PNG file and was left out.", kind="warn")
    width, height, dpi = info
    scale = CSS_PX_PER_INCH / dpi if dpi else 0.5 if width > 1200 else 1.0
    css_w = max(1, min(max_px, round(width * scale)))
    css_h = max(1, round(height * css_w / width))
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    cap = f"<figcaption>{caption}</figcaption>" if caption else ""
    return (
        f'<figure><img src="{uri}" alt="{esc(alt or name)}" width="{css_w}" height="{css_h}" '
        f'style="width:{css_w}px">{cap}</figure>'
    )


def figure_html(path: Path, *, caption: str = "", alt: str = "", max_px: int = MAX_FIGURE_PX) -> str:
    """:func:`figure_from_bytes` for a PNG file; the caption is HTML (escape user text first)."""
    return figure_from_bytes(Path(path).read_bytes(), caption=caption, alt=alt or path.stem, max_px=max_px,
                             name=path.name)


def note(text: str, *, kind: str = "info") -> str:
    """A highlighted paragraph; ``kind`` is ``info``, ``warn`` or ``missing``. ``text`` is escaped."""
    return f'<p class="note {esc(kind)}">{esc(text)}</p>'


CSS = """
p.verdict { padding: 8px 12px; border-radius: 6px; background: #e8f5ec; border-left: 4px solid var(--good); }
p.verdict.warn { background: var(--warnbg); border-left-color: var(--warn); }
table.chroms td, table.chroms th { white-space: nowrap; }
:root { --fg:#1f2430; --muted:#5b6475; --line:#d9dee7; --accent:#1f5fa8; --bg:#ffffff; --panel:#f5f7fa;
        --warn:#8a5a00; --warnbg:#fff5dc; --miss:#6b7280; --missbg:#eef0f3; --good:#1e7a3c; --bad:#a22b2b; }
* { box-sizing: border-box; }
html { background: var(--panel); }
body { margin: 0; color: var(--fg); font: 15px/1.55 "Helvetica Neue", Helvetica, Arial, "DejaVu Sans", sans-serif; }
.page { max-width: 1100px; margin: 0 auto; background: var(--bg); padding: 0 30px 40px;
        box-shadow: 0 0 0 1px var(--line); min-height: 100vh; }
header.top { border-bottom: 3px solid var(--accent); padding: 28px 0 16px; margin-bottom: 8px; }
header.top h1 { margin: 0 0 6px; font-size: 28px; letter-spacing: -0.01em; }
header.top .meta { color: var(--muted); font-size: 13.5px; }
header.top .meta span { margin-right: 18px; white-space: nowrap; }
header.top .meta code { font-size: 12.5px; }
h2 { font-size: 21px; margin: 36px 0 8px; padding-bottom: 5px; border-bottom: 1px solid var(--line); }
h2 .status { font-size: 12px; font-weight: 600; vertical-align: middle; margin-left: 10px; padding: 2px 8px;
             border-radius: 10px; background: var(--missbg); color: var(--miss); }
h3 { font-size: 16.5px; margin: 24px 0 6px; }
h4 { font-size: 14.5px; margin: 16px 0 4px; color: var(--muted); }
p { margin: 6px 0 10px; }
p.lead { color: var(--muted); max-width: 900px; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; background: var(--panel);
       padding: 0 3px; border-radius: 3px; }
nav.toc { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px 20px;
          margin: 16px 0 8px; columns: 2; column-gap: 40px; }
nav.toc h2 { border: 0; margin: 4px 0 6px; font-size: 15px; column-span: all; }
nav.toc ol { margin: 0; padding-left: 22px; }
nav.toc li { margin: 2px 0; break-inside: avoid; }
nav.toc li ul { padding-left: 16px; list-style: disc; color: var(--muted); font-size: 13.5px; }
nav.toc a { color: var(--accent); text-decoration: none; }
nav.toc .notrun { color: var(--miss); font-size: 12px; margin-left: 6px; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13.5px; min-width: 360px; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: 4px 0; color: var(--fg); }
th, td { padding: 5px 12px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { background: #e9eef5; border-bottom: 2px solid #b9c3d3; font-weight: 600; white-space: nowrap; }
tbody tr:nth-child(even) td { background: #fafbfc; }
tr.group th { background: var(--panel); color: var(--accent); font-weight: 600; padding-top: 9px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.good { color: var(--good); font-weight: 600; }
td.bad { color: var(--bad); }
td.paper { color: var(--muted); font-style: italic; }
table.kv td:first-child { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px;
                          color: #334; white-space: nowrap; }
.tables { display: flex; flex-wrap: wrap; gap: 0 32px; align-items: flex-start; }
figure { margin: 12px 0 22px; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: 13.5px; max-width: 900px; margin-top: 6px; }
figcaption b { color: var(--fg); }
.figrow { display: flex; flex-wrap: wrap; gap: 0 28px; align-items: flex-start; }
.figrow figure { flex: 1 1 380px; max-width: 500px; }
p.note { padding: 8px 12px; border-radius: 4px; border-left: 4px solid var(--accent); background: #eef4fb; }
p.note.warn { border-color: #d19a00; background: var(--warnbg); color: var(--warn); }
p.note.missing { border-color: #b5bcc8; background: var(--missbg); color: var(--miss); }
ul.qc { margin: 6px 0 14px; padding-left: 0; list-style: none; }
ul.qc li { padding: 5px 10px; margin: 3px 0; border-radius: 4px; background: var(--warnbg); color: var(--warn);
           border-left: 4px solid #d19a00; }
ul.qc li.ok { background: #e9f6ee; color: var(--good); border-color: #3aa35d; }
details { margin: 6px 0 14px; }
details summary { cursor: pointer; color: var(--accent); font-size: 14px; }
footer { margin-top: 40px; padding-top: 10px; border-top: 1px solid var(--line); color: var(--muted);
         font-size: 12.5px; }
@media print { html { background: #fff; } .page { box-shadow: none; max-width: none; }
               figure, table { break-inside: avoid; } }
"""


def page(title: str, meta: Sequence[tuple[str, str]], sections: Sequence[Section], intro: str = "",
         footer: str = "") -> str:
    """The whole HTML document: header (title, ``meta`` label/value pairs), TOC, sections, footer."""
    meta_html = "".join(f"<span><b>{esc(k)}:</b> {v}</span>" for k, v in meta)
    toc = ['<nav class="toc"><h2>Contents</h2><ol>']
    for s in sections:
        status = "" if s.ran else '<span class="notrun">(not run)</span>'
        sub = ""
        if s.children and s.ran:
            sub = "<ul>" + "".join(f'<li><a href="#{esc(a)}">{esc(t)}</a></li>' for a, t in s.children) + "</ul>"
        toc.append(f'<li><a href="#{esc(s.anchor)}">{esc(s.title)}</a>{status}{sub}</li>')
    toc.append("</ol></nav>")
    body = []
    for s in sections:
        status = "" if s.ran else '<span class="status">not run</span>'
        content = s.body if s.ran else note(s.missing_hint or "This step was not run.", kind="missing")
        body.append(f'<section id="{esc(s.anchor)}"><h2>{esc(s.title)}{status}</h2>{content}</section>')
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>\n"
        '<body><div class="page">'
        f'<header class="top"><h1>{esc(title)}</h1><div class="meta">{meta_html}</div></header>'
        f"{intro}{''.join(toc)}{''.join(body)}"
        f"<footer>{footer}</footer></div></body></html>\n"
    )
