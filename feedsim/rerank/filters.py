"""Stage 4 of 5 (re-ranking): the filters that decide what may be served at all.

Moderation (a video labelled as violating policy is never served; the config requires this
step), the seen filter (nothing the user was already served, within the seen-history window),
and locale (the video's language is the user's, or English where allowed; optionally the
creator's market is the user's). Filters only clear candidates; the page is then refilled from
the next best valid candidates by the steps after them, never left with a hole it need not have.
Each removal of a video that would have been on the page is traced with its reason.
"""
from __future__ import annotations

import numpy as np

from feedsim.rerank.base import Reason, RerankState, Step
from feedsim.rerank.config import LocaleConfig
from feedsim.world.markets import LANGUAGES

ENGLISH = LANGUAGES.index("en")


class ModerationFilter(Step):
    name = "moderation"

    def apply(self, state: RerankState) -> None:
        state.remove(state.slate.moderated, Reason.MODERATION)


class SeenFilter(Step):
    name = "seen"

    def apply(self, state: RerankState) -> None:
        state.remove(state.slate.seen, Reason.SEEN)


class LocaleFilter(Step):
    name = "locale"

    def __init__(self, cfg: LocaleConfig):
        self.allow_english = cfg.allow_english
        self.same_market = cfg.same_market

    def mismatch(self, state: RerankState) -> np.ndarray:
        """Candidates outside the user's locale. (B, C) bool"""
        s = state.slate
        ok = s.language == s.user_language[:, None]
        if self.allow_english:
            ok |= s.language == ENGLISH
        if self.same_market:
            ok &= s.market == s.user_market[:, None]
        return ~ok

    def apply(self, state: RerankState) -> None:
        state.remove(self.mismatch(state), Reason.LOCALE)
