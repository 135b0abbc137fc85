"""Teaching: print an explain trace as terminal tables, or write it as one self-contained page.

Both forms walk the same sections in pipeline order (request, funnel, retrieval, ranking and
fusion, re-ranking moves, the page against what the user did and what the truth expected), each
with a sentence saying what the learner is looking at.
"""
from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from feedsim.report.explain import ExplainTrace

SECTIONS = ("request", "funnel", "retrieval", "ranking", "re-ranking", "page")
NOTES = {
    "request": "One page request, caught while the day was re-simulated from the run's seed.",
    "funnel": "From the whole catalogue to one page: each stage keeps fewer, costlier-scored "
              "candidates.",
    "retrieval": "Each source proposes candidates with its own score; the merge interleaves "
                 "them by quota and filters language, moderation and seen videos once.",
    "ranking": "The multi-task ranker predicts every task for each pre-ranked candidate; the "
               "value model fuses them (term_<task> = weight x prediction). true_* is the "
               "sandbox's ground truth, which the platform never sees.",
    "re-ranking": "Re-ranking turns the ranked list into a page: each move names the slot, the "
                  "video moved out, the one that took its place and the rule that did it.",
    "page": "The served page: fused score, propensity, what the simulated user did (blank after "
            "they left) and what the ground truth expected.",
}


def section_frames(trace: ExplainTrace) -> dict[str, list[tuple[str, pd.DataFrame]]]:
    """Section -> [(caption, table)], shared by the text and HTML forms."""
    meta = pd.DataFrame({"field": list(trace.meta), "value": [str(v) for v in
                                                               trace.meta.values()]})
    funnel = pd.DataFrame({"stage": list(trace.funnel), "videos": list(trace.funnel.values())})
    ranked = trace.ranked
    if trace.tasks:
        terms = [f"term_{t}" for t in trace.tasks if f"term_{t}" in ranked]
        pred_cols = ["rank", "video", "source"] + [f"pred_{t}" for t in trace.tasks]
        term_cols = ["rank", "video"] + terms + ["fused", "true_watch_s", "true_like",
                                                  "true_value", "on_page"]
        ranking = [("predictions", ranked[pred_cols]),
                   (f"fusion ({trace.fusion_form})", ranked[term_cols])]
    else:
        ranking = [("no ranker yet (cold start): candidates in retrieval order", ranked)]
    return {
        "request": [("", meta)],
        "funnel": [("", funnel)],
        "retrieval": [("candidates per source", trace.sources),
                      ("each source's own top videos and scores", trace.source_top)],
        "ranking": ranking,
        "re-ranking": [("moves", trace.moves if len(trace.moves) else
                        pd.DataFrame({"moves": ["none: the ranked order was kept"]}))],
        "page": [("", trace.page)],
    }


def _fmt(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype.kind == "f":
            out[col] = out[col].map(lambda x: "" if np.isnan(x) else f"{x:.4g}")
        elif out[col].dtype.kind == "b":
            out[col] = out[col].map(lambda x: "yes" if x else "")
        elif out[col].dtype == object:
            out[col] = out[col].map(lambda x: "" if x is None or x is np.nan else x)
    return out


def render_text(trace: ExplainTrace) -> str:
    lines = []
    for name, tables in section_frames(trace).items():
        lines += ["", f"== {name} ==", NOTES[name]]
        for caption, frame in tables:
            if caption:
                lines.append(f"-- {caption}")
            lines.append(_fmt(frame).to_string(index=False) if len(frame) else "(empty)")
    return "\n".join(lines).lstrip() + "\n"


STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f0f0f0}
h2{border-bottom:2px solid #444;margin-top:1.6em}p.note{color:#555;max-width:60em}"""


def page_shell(title: str, body: str, style: str = STYLE) -> str:
    """A complete HTML document with inline CSS and no external references."""
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{style}</style></head>"
            f"<body>\n<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n")


def render_html(trace: ExplainTrace) -> str:
    parts = []
    for name, tables in section_frames(trace).items():
        parts.append(f"<h2 id=\"{name}\">{html.escape(name)}</h2>"
                     f"<p class=\"note\">{html.escape(NOTES[name])}</p>")
        for caption, frame in tables:
            if caption:
                parts.append(f"<h3>{html.escape(caption)}</h3>")
            parts.append(_fmt(frame).to_html(index=False, border=0, escape=True))
    m = trace.meta
    return page_shell(f"Why user {m['user']} saw this page (day {m['day']}, "
                      f"request {m['request_id']})", "\n".join(parts))
