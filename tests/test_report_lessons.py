"""Every lesson in docs/lessons runs top to bottom (each asserts its own finding)."""
from __future__ import annotations

import runpy

import pytest

from feedsim.report.lessons import lesson_files

FAST = {"lesson_07_feedback_loops.py"}           # the others take over 20 s on 2 cores


def test_there_are_at_least_four_lessons_and_a_readme():
    files = lesson_files()
    assert len(files) >= 4
    readme = (files[0].parent / "README.md").read_text()
    assert all(f.name in readme for f in files)


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem, marks=() if p.name in FAST
                                               else pytest.mark.slow) for p in lesson_files()])
def test_lesson_runs(path, capsys):
    runpy.run_path(str(path), run_name="__main__")
    assert capsys.readouterr().out.strip()
