"""Teaching: run a `# %%` lesson cell by cell and export it as one self-contained HTML page.

A lesson in docs/lessons is a plain Python script: its docstring is the introduction, `# %%`
starts a code cell and `# %% [markdown]` a prose cell written as `#` comments. `run_cells`
executes the code cells in one namespace (as `__main__`, like running the script), capturing
each cell's stdout (echoed to the terminal as well) and every matplotlib figure the cell left
open (as a base64 PNG). `render_page` turns the result into HTML: prose through a small, safe
markdown subset (everything is HTML-escaped first), code, output and figures inline, no
network references, so the page works offline. No dependency beyond matplotlib.
"""
from __future__ import annotations

import ast
import contextlib
import html
import io
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Cell:
    kind: str                     # "intro" | "markdown" | "code"
    source: str
    line: int                     # 0-based line of the cell's first source line in the file
    output: str = ""
    figures: list[str] = field(default_factory=list)      # data:image/png;base64 URIs


def split_cells(text: str) -> list[Cell]:
    """The lesson's cells in order; the part before the first `# %%` is the intro."""
    cells, kind, start, lines = [], "intro", 0, []
    for i, line in enumerate(text.splitlines()):
        if line.startswith("# %%"):
            cells.append(Cell(kind, "\n".join(lines), start))
            kind, start, lines = ("markdown" if "[markdown]" in line else "code"), i + 1, []
        else:
            lines.append(line)
    cells.append(Cell(kind, "\n".join(lines), start))
    for cell in cells:
        if cell.kind == "markdown":
            cell.source = "\n".join(re.sub(r"^# ?", "", ln) for ln in cell.source.splitlines())
    return [c for c in cells if c.source.strip()]


class _Tee(io.TextIOBase):
    """Writes to a buffer and to the real stdout."""

    def __init__(self, echo):
        self.buffer, self.echo = io.StringIO(), echo

    def write(self, text: str) -> int:
        self.buffer.write(text)
        if self.echo is not None:
            self.echo.write(text)
        return len(text)


def _open_figures() -> list[str]:
    """Every open matplotlib figure as a PNG data URI (closing them), in creation order."""
    if "matplotlib.pyplot" not in sys.modules:
        return []
    from feedsim.report.plots import plt, to_uri
    return [to_uri(plt.figure(num)) for num in plt.get_fignums()]


def run_cells(path: Path, echo: bool = True) -> list[Cell]:
    """Execute a lesson's code (intro and code cells) top to bottom; cells get their outputs."""
    from feedsim.report import plots  # noqa: F401  (selects the Agg backend before any figure)
    path = Path(path)
    cells = split_cells(path.read_text(encoding="utf-8"))
    namespace = {"__name__": "__main__", "__file__": str(path)}
    for cell in cells:
        if cell.kind == "markdown":
            continue
        code = compile("\n" * cell.line + cell.source, str(path), "exec")   # true line numbers
        tee = _Tee(sys.stdout if echo else None)
        with contextlib.redirect_stdout(tee):
            exec(code, namespace)                                # noqa: S102 - our own lessons
        cell.output, cell.figures = tee.buffer.getvalue(), _open_figures()
    return cells


def _inline(text: str) -> str:
    """Escaped text with `code`, **strong** and *emphasis*; links keep their text only."""
    parts = re.split(r"(`[^`]+`)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(f"<code>{html.escape(part[1:-1])}</code>")
            continue
        part = html.escape(part, quote=False)
        part = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", part)
        part = re.sub(r"\*\*(\S(?:.*?\S)?)\*\*", r"<strong>\1</strong>", part)
        out.append(re.sub(r"(?<![\w*])\*(\S(?:[^*]*?\S)?)\*(?![\w*])", r"<em>\1</em>", part))
    return "".join(out)


def markdown_html(text: str) -> str:
    """A safe markdown subset: headings, paragraphs, `-`/`*` and `1.` lists, inline marks."""
    blocks = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [ln.rstrip() for ln in block.splitlines() if ln.strip()]
        heading = re.match(r"^(#{1,4})\s+(.*)", lines[0])
        if heading and len(lines) == 1:
            level = min(len(heading.group(1)) + 1, 5)
            blocks.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif all(re.match(r"^\s*([-*]|\d+\.)\s+", ln) or ln.startswith("  ") for ln in lines):
            blocks.append(_list_html(lines))
        else:
            blocks.append(f"<p>{_inline(' '.join(ln.strip() for ln in lines))}</p>")
    return "\n".join(blocks)


def _list_html(lines: list[str]) -> str:
    items: list[str] = []
    for ln in lines:
        m = re.match(r"^\s*([-*]|\d+\.)\s+(.*)", ln)
        if m:
            items.append(m.group(2))
        elif items:
            items[-1] += " " + ln.strip()
    tag = "ol" if re.match(r"^\s*\d+\.", lines[0]) else "ul"
    return f"<{tag}>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + f"</{tag}>"


def _intro(cell: Cell) -> tuple[str, str]:
    """Title and intro prose from the lesson's module docstring."""
    try:
        doc = ast.get_docstring(ast.parse(cell.source)) or ""
    except SyntaxError:
        doc = ""
    title, _, rest = doc.partition("\n")
    return title.strip(), rest


def render_page(path: Path, cells: list[Cell]) -> str:
    """One self-contained HTML document for an executed lesson."""
    from feedsim.report.explain_render import page_shell
    from feedsim.report.html import plots_style
    title, parts = Path(path).stem, []
    for cell in cells:
        if cell.kind == "intro":
            title, rest = _intro(cell)
            parts.append(markdown_html(rest) if rest.strip() else "")
            continue
        if cell.kind == "markdown":
            parts.append(f"<div class=\"prose\">{markdown_html(cell.source)}</div>")
            continue
        parts.append(f"<pre class=\"code\"><code>{html.escape(cell.source.strip())}</code></pre>")
        if cell.output.strip():
            parts.append(f"<pre class=\"out\">{html.escape(cell.output.rstrip())}</pre>")
        parts += [f"<figure><img src=\"{uri}\" alt=\"figure\"></figure>" for uri in cell.figures]
    style = plots_style() + (".prose{max-width:46em;line-height:1.5}"
                             "pre.code{background:#f4f4f8;border-left:3px solid #4878a8;"
                             "padding:.6em;overflow-x:auto}"
                             "pre.out{background:#fff;border-left:3px solid #aaa;padding:.6em;"
                             "overflow-x:auto;font-size:12px}")
    return page_shell(title or Path(path).stem, "\n".join(p for p in parts if p), style)


def export_lesson(path: Path, out_dir: Path, echo: bool = True) -> Path:
    """Run the lesson and write out_dir/<lesson>.html (atomically). Returns its path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    page = render_page(path, run_cells(path, echo))
    target = out_dir / f"{Path(path).stem}.html"
    tmp = out_dir / f".{target.name}.tmp"
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(target)
    return target
