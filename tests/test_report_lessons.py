"""Every lesson in docs/lessons runs top to bottom (each asserts its own finding) and exports to
one self-contained HTML page with its output and figures."""
from __future__ import annotations

import re

import pytest
from test_report_html import check_page

from feedsim.report.lessons import lesson_files, main as lessons_main
from feedsim.report.notebook import markdown_html, split_cells

FAST = {"lesson_06_lists_diversity_rules.py",       # the others take over 20 s on 2 cores
        "lesson_07_feedback_loops.py"}


def test_there_are_nine_lessons_and_a_readme_naming_each():
    files = lesson_files()
    assert [f.name[:9] for f in files] == [f"lesson_0{i}" for i in range(1, 10)]
    readme = (files[0].parent / "README.md").read_text()
    assert all(f.name in readme for f in files)


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem, marks=() if p.name in FAST
                                               else pytest.mark.slow) for p in lesson_files()])
def test_lesson_runs_and_exports_a_self_contained_page(path, tmp_path, capsys):
    assert lessons_main([path.stem, "--html", str(tmp_path)]) == 0     # raises if a cell fails
    assert "########" in capsys.readouterr().out
    page = (tmp_path / f"{path.stem}.html").read_text()
    checker = check_page(page)
    assert not [r for r in checker.refs if not r.startswith(("data:", "#"))], checker.refs
    assert not re.search(r"(src|href)\s*=\s*[\"']?https?://", page) and "<script" not in page
    assert '<pre class="out">' in page                                 # captured stdout
    if "plt.subplots" in path.read_text():                             # its figures, inlined
        assert page.count('<img src="data:image/png;base64,') >= 1
    assert (tmp_path / "index.html").read_text().count(f'href="{path.stem}.html"') == 1


def test_cells_split_into_intro_markdown_and_code():
    cells = split_cells('"""Doc."""\n# %% [markdown]\n# Some *prose*.\n#\n# - a\n# %%\nx = 1\n')
    assert [c.kind for c in cells] == ["intro", "markdown", "code"]
    assert cells[1].source == "Some *prose*.\n\n- a" and cells[2].source == "x = 1"
    assert cells[2].line == 6                                  # tracebacks keep file lines


def test_markdown_is_rendered_safely():
    out = markdown_html("## Title\n\n<script>alert(1)</script> *em* **b** `a<b`\n[t](http://x)"
                        "\n\n- one\n- two\n\n1. first")
    assert "<h3>Title</h3>" in out and "<script" not in out and "&lt;script&gt;" in out
    assert "<em>em</em>" in out and "<strong>b</strong>" in out and "<code>a&lt;b</code>" in out
    assert "http://" not in out and "<ul><li>one</li><li>two</li></ul>" in out
    assert "<ol><li>first</li></ol>" in out
    assert "w_k * p_k" in markdown_html("sum w_k * p_k")       # a lone star is no emphasis


def test_an_unknown_lesson_name_fails_with_one_line(capsys):
    assert lessons_main(["no_such_lesson"]) == 2
    assert "no lesson matches" in capsys.readouterr().err
