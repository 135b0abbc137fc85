"""report.html: every run writes one; it is valid, self-contained and holds its figures."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from conftest import tiny_config

from feedsim.loop.runner import run
from feedsim.report.__main__ import main as report_main
from feedsim.report.html import safe_write_report

VOID = {"meta", "img", "br", "hr", "input", "link", "col"}


class Checker(HTMLParser):
    """Collects tags, unbalanced closes and every src/href."""

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.refs, self.tags = [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.refs += [v for k, v in attrs if k in ("src", "href") and v]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    run(tiny_config("policy=popular", "loop.days=3"), out)
    return out


def check_page(text: str) -> Checker:
    assert text.startswith("<!DOCTYPE html>")
    checker = Checker()
    checker.feed(text)
    checker.close()
    assert checker.errors == [] and checker.stack == [], (checker.errors, checker.stack)
    return checker


def test_every_run_writes_a_valid_self_contained_report_with_figures(run_dir):
    text = (run_dir / "report.html").read_text()
    checker = check_page(text)
    assert not [r for r in checker.refs if not r.startswith(("data:", "#"))], checker.refs
    assert not re.search(r"https?://", text)
    assert "<script" not in text
    figures = len(re.findall(r'<img src="data:image/png;base64,', text)) + text.count("<svg")
    assert figures >= 7
    for section in ("Metrics over days", "The funnel", "Calibration", "Creator ecosystem",
                    "Trends and freshness", "Summary"):
        assert f"<h2>{section}</h2>" in text
    assert (run_dir / "report_data" / "creators.parquet").exists()


def test_the_report_can_be_regenerated_from_the_run_directory(run_dir, capsys):
    (run_dir / "report.html").unlink()
    assert report_main([str(run_dir)]) == 0
    assert (run_dir / "report.html").exists()
    assert "report.html" in capsys.readouterr().out


def test_a_report_failure_never_fails_the_run(tmp_path, caplog):
    assert safe_write_report(tmp_path) is None            # no metrics.parquet there
    assert "report.html not written" in caplog.text
    assert report_main([str(tmp_path)]) == 2
