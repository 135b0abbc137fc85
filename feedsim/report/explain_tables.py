"""Teaching: the explain trace's tables, built from what the tracer caught during serving.

`feedsim.report.explain` catches one request's intermediates (candidates, pre-rank columns,
predictions, fusion terms, re-ranking moves, the page and the ground truth); this module turns
them into the frames of an `ExplainTrace`, joining in the video metadata a learner needs (creator,
sound, duration) and, from the day's impression log, what the simulated user actually did.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from feedsim.world.markets import LANGUAGES
from feedsim.report.explain import ACTIONS, TRUTH_COLUMNS, ExplainTrace, source_table


def _video_meta(sim, videos: np.ndarray) -> dict[str, np.ndarray]:
    v, safe = sim.world.videos, np.maximum(videos, 0)
    return {"creator": v.creator[safe], "sound": v.sound[safe],
            "duration_s": np.round(v.duration_s[safe], 1)}


def ranked_table(sim, policy, parts: dict, top: int) -> pd.DataFrame:
    """The `top` pre-ranked candidates by fused score: predictions, terms, fused, truth."""
    kept, fused = parts["kept"], parts["fused"].astype(np.float64)
    order = [c for c in np.argsort(-fused, kind="stable") if kept[c] >= 0][:top]
    names = np.asarray(policy.source_names, dtype=object)
    out = {"rank": np.arange(len(order)), "video": kept[order],
           **_video_meta(sim, kept[order]), "source": names[parts["kept_src"][order]]}
    out.update({f"pred_{t}": p[order] for t, p in parts["preds"].items()})
    out.update({f"term_{t}": c[order] for t, c in parts["terms"].items()})
    out["fused"] = fused[order]
    truth = parts["ranked_truth"]
    out.update({f"true_{k}": getattr(truth, k)[0, order] for k in ("watch_s", "like", "value")})
    out["on_page"] = np.isin(kept[order], parts["page"])
    return pd.DataFrame(out)


def moves_table(parts: dict) -> pd.DataFrame:
    rows = [{"slot": s, "moved_out": v, "replaced_by": b, "reason": r}
            for s, v, b, r in parts["moves"]]
    return pd.DataFrame(rows, columns=["slot", "moved_out", "replaced_by", "reason"])


def page_table(sim, policy, parts: dict, day_log) -> pd.DataFrame:
    """The served slots: how they were chosen, what the user did, what the truth expected."""
    page = parts["page"]
    names = np.asarray(policy.source_names, dtype=object)
    out = {"slot": np.arange(page.size), "video": page, **_video_meta(sim, page),
           "source": names[parts["page_src"]], "fused": parts["page_score"],
           "propensity": parts["prop"], "explored": parts["explored"]}
    truth = parts["truth"]
    out.update({f"true_{k}": getattr(truth, k)[0] for k in TRUTH_COLUMNS})
    frame = pd.DataFrame(out)
    mine = day_log.select(day_log.request_id == parts["request_id"])
    did = pd.DataFrame({"slot": mine.position.astype(np.int64), "watch_s": mine.watch_s,
                        **{a: getattr(mine, a) for a in ACTIONS}})
    frame = frame.merge(did, on="slot", how="left")
    frame.insert(frame.columns.get_loc("watch_s"), "viewed", frame["watch_s"].notna())
    return frame


def funnel(sim, parts: dict, page: pd.DataFrame) -> dict[str, int]:
    return {"catalogue": int(sim.world.videos.n),
            "retrieved": int((parts["ids"] >= 0).sum()),
            "pre-ranked": int((parts["kept"] >= 0).sum()),
            "ranked": int((parts["kept"] >= 0).sum()) if parts["preds"] else 0,
            "on page": int((parts["page"] >= 0).sum()),
            "viewed": int(page["viewed"].sum())}


def build_trace(sim, tracer, day_log) -> ExplainTrace:
    parts, policy = tracer.capture.parts, tracer.policy
    page = page_table(sim, policy, parts, day_log)
    sources, tops = source_table(policy, parts["user"], parts["source"], parts["kept_src"],
                                 parts["page_src"], k=3)
    users, ranked = sim.world.users, ranked_table(sim, policy, parts, len(parts["kept"]))
    corr = ranked[["fused", "true_value"]].corr(method="spearman").iloc[0, 1] \
        if parts["preds"] and len(ranked) > 2 else float("nan")
    meta = {"seed": sim.cfg.seed, "world": sim.cfg.world.name, "day": parts["day"],
            "user": parts["user"], "arm": tracer.arm, "request_id": parts["request_id"],
            "request_of_day": tracer.request, "hour": parts["hour"],
            "session_index": parts["session_index"],
            "language": LANGUAGES[int(users.language[parts["user"]])],
            "market": sim.world.cfg.markets[int(users.market[parts["user"]])],
            "ranker_fitted": bool(parts["preds"]), "retrieval_fitted": policy.retriever.fitted,
            "steps": list(policy.reranker.cfg.steps),
            "spearman(fused, true_value) over ranked": round(float(corr), 3)}
    return ExplainTrace(meta=meta, funnel=funnel(sim, parts, page), sources=sources,
                        source_top=tops, ranked=ranked.head(tracer.capture.top),
                        moves=moves_table(parts), page=page, tasks=tuple(parts["preds"]),
                        fusion_form=policy.ranker.fusion.form if parts["preds"] else "")
