"""Stage 2 of 5 (ranking): the features of a (user, video, context) triple.

Categorical fields (one shared embedding table, one offset per field): user and video ids,
creator, sound, two hashtag slots, video language, user market, language and device, hour,
duration, video age and session-depth buckets. Dense fields: the video's decayed counters as
of serving time (views, valid-play, completion and action rates), the creator's followers, the
user's account age and daily engagement aggregates, and user x video crosses (follows the
creator, past engagement with its creator, sound and hashtags), plus the same-language flag.

`training_rows` builds them for logged rows strictly from earlier rows (see asof.py);
`serving_rows` builds them for a (B, C) candidate matrix from the live counters and the daily
history. `FeatureEncoder` turns either into arrays, identically.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from feedsim.logs.schema import ImpressionBatch
from feedsim.ranking.asof import video_counts_asof, follows_asof, VIDEO_COUNTS
from feedsim.ranking.history import UserHistory, UserStats, asof_user_stats

# Request-level fields first (the same for every candidate of a page request), so a model can
# compute their part of its first layer once per request (models/base.py, RequestSplit).
FIELDS = ("user", "market", "user_language", "device", "hour", "depth",
          "video", "creator", "sound", "tag0", "tag1", "video_language", "duration", "age")
REQUEST_FIELDS = 6          # the first six of FIELDS
REQUEST_FIELD_NAMES, CANDIDATE_FIELD_NAMES = FIELDS[:REQUEST_FIELDS], FIELDS[REQUEST_FIELDS:]
REQUEST_DENSE = 9           # the first nine dense columns: the user's aggregates, account age
N_BUCKETS = {"hour": 24, "duration": 12, "age": 8, "depth": 8}
SMOOTH = 5.0
CLIP = 8.0


@dataclass
class RowInputs:
    """Everything the encoder needs about N (user, video, context) rows, all (N, ...)."""
    user: np.ndarray
    video: np.ndarray
    hour: np.ndarray
    session_index: np.ndarray
    day: np.ndarray
    video_counts: np.ndarray      # (N, 9) decayed VIDEO_COUNTS as of serving
    stats: UserStats
    follows: np.ndarray           # (N,) bool

    def take(self, idx: np.ndarray) -> "RowInputs":
        """The rows at `idx` (an index or a mask)."""
        s = self.stats
        return RowInputs(self.user[idx], self.video[idx], self.hour[idx], self.session_index[idx],
                         self.day[idx], self.video_counts[idx],
                         UserStats(s.user[idx], s.creator[idx], s.sound[idx], s.tags[idx]),
                         self.follows[idx])


def training_rows(log: ImpressionBatch, view, daily_decay: float,
                  freshness: str = "live") -> RowInputs:
    """Inputs of logged rows, each as of its own serving time (no row sees itself or later);
    `freshness` says which video counters serving read (asof.video_counts_asof)."""
    video = log.video_id.astype(np.int64)
    creator = view.videos.creator[video].astype(np.int64)
    now = view.follows.contains(log.user_id.astype(np.int64), creator)
    return RowInputs(log.user_id.astype(np.int64), video, log.hour.astype(np.int64),
                     log.session_index.astype(np.int64), log.day.astype(np.int64),
                     video_counts_asof(log, daily_decay, freshness), asof_user_stats(log, view),
                     follows_asof(log, now, creator, view.n_creators))


def serving_rows(view, recent_counts: dict[str, np.ndarray], history: UserHistory,
                 user_ids: np.ndarray, candidates: np.ndarray, hour: np.ndarray,
                 session_index: np.ndarray, day: int) -> RowInputs:
    """Inputs of a (B, C) candidate matrix, flattened to B*C rows (user-major)."""
    b, c = candidates.shape
    video = np.maximum(candidates, 0).reshape(-1)                        # (B*C,)
    user = np.repeat(user_ids.astype(np.int64), c)                       # (B*C,)
    counts = np.stack([recent_counts[name][video] for name in VIDEO_COUNTS], axis=1)
    creator = view.videos.creator[video].astype(np.int64)
    return RowInputs(user, video, np.repeat(hour.astype(np.int64), c),
                     np.repeat(session_index.astype(np.int64), c), np.full(b * c, day),
                     counts, history.lookup(user, video), view.follows.contains(user, creator))


def _bucket(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.searchsorted(edges, values, side="right")


class FeatureEncoder:
    """Fixed vocabularies (set when a model is fitted) and the row -> array encoding."""

    def __init__(self, view, id_embeddings: bool = True):
        self.view = view
        self.id_embeddings = id_embeddings
        n_lang = int(max(view.user_language.max(), view.videos.language.max())) + 1
        self.sizes = {"user": view.n_users + 1, "video": view.videos.n + 1,
                      "creator": view.n_creators, "sound": view.n_sounds,
                      "tag0": view.n_tags + 1, "tag1": view.n_tags + 1,
                      "video_language": n_lang + 1, "market": len(view.markets),
                      "user_language": n_lang + 1, "device": int(view.user_device.max()) + 2,
                      **N_BUCKETS}
        self.offsets = np.cumsum([0] + [self.sizes[f] for f in FIELDS])[:-1]
        self.vocab = int(sum(self.sizes.values()))
        self.mean = self.std = None                                      # dense standardisation

    n_dense = 32

    def categorical(self, r: RowInputs) -> np.ndarray:
        """(N, F) int64 indices into the shared table."""
        request = self._categorical(self._request_columns(r), REQUEST_FIELD_NAMES)
        candidate = self.item_categorical(r.video, r.day)
        return np.concatenate([request, candidate], axis=1)

    def _request_columns(self, r: RowInputs) -> dict[str, np.ndarray]:
        view = self.view
        return {"user": r.user if self.id_embeddings else np.zeros_like(r.user),
                "market": view.user_market[r.user], "user_language": view.user_language[r.user],
                "device": view.user_device[r.user], "hour": r.hour,
                "depth": _bucket(r.session_index, np.array([1, 3, 6, 12, 25, 50, 100]))}

    def item_categorical(self, video: np.ndarray, day: np.ndarray | int) -> np.ndarray:
        """(N, 8) candidate-field indices of videos served on `day`: the same for every
        request of that day, so a ranker may compute their part once (ranking/item_cache.py)."""
        return self._categorical(self._candidate_columns(video, day), CANDIDATE_FIELD_NAMES)

    def _candidate_columns(self, v: np.ndarray, day: np.ndarray | int) -> dict[str, np.ndarray]:
        view = self.view
        n_vid = self.sizes["video"] - 1
        tags = view.videos.tags[v].astype(np.int64)
        return {
            "video": np.where(v < n_vid, v, n_vid) if self.id_embeddings else np.zeros_like(v),
            "creator": view.videos.creator[v], "sound": view.videos.sound[v],
            "tag0": np.where(tags[:, 0] >= 0, tags[:, 0], view.n_tags),
            "tag1": np.where(tags[:, 1] >= 0, tags[:, 1], view.n_tags),
            "video_language": view.videos.language[v],
            "duration": _bucket(view.videos.duration_s[v], np.geomspace(3, 200, 11)),
            "age": day - view.videos.upload_day[v],
        }

    def _categorical(self, cols: dict[str, np.ndarray], fields: tuple[str, ...]) -> np.ndarray:
        cat = np.stack([np.clip(np.asarray(cols[f], np.int64), 0, self.sizes[f] - 1)
                        for f in fields], axis=1)
        return cat + self.offsets[[FIELDS.index(f) for f in fields]]    # (N, len(fields))

    def _user_dense(self, r: RowInputs) -> np.ndarray:
        """The REQUEST_DENSE request-level columns: the user's aggregates, account age. (N, 9)"""
        u = r.stats.user
        return np.concatenate([np.log1p(u[:, :1]), u[:, 1:] / (u[:, :1] + SMOOTH),
                               np.log1p(self.view.user_account_age_days[r.user]
                                        .astype(np.float64))[:, None]], axis=1)

    def _candidate_dense(self, r: RowInputs) -> np.ndarray:
        """The other 23 dense columns: the video's rates, the crosses, the context. (N, 23)"""
        view, v = self.view, r.video
        vc = r.video_counts
        imps = vc[:, :1]
        dur = view.videos.duration_s[v].astype(np.float64)
        video = np.concatenate([np.log1p(imps), vc[:, [1, 2, 4, 5, 6, 7, 8]] / (imps + SMOOTH),
                                vc[:, 3:4] / dur[:, None] / (imps + SMOOTH)], axis=1)   # (N, 9)
        crosses = [np.concatenate([np.log1p(x[:, :1]), x[:, 1:] / (x[:, :1] + 1.0)], axis=1)
                   for x in (r.stats.creator, r.stats.sound, r.stats.tags)]             # 3 x 3
        context = np.stack([
            np.log1p(view.creator_followers[view.videos.creator[v]]),
            np.log(dur), np.minimum(r.day - view.videos.upload_day[v], 30) / 10.0,
            view.user_language[r.user] == view.videos.language[v], r.follows], axis=1)  # 5
        return np.concatenate([video, *crosses, context], axis=1)

    def dense(self, r: RowInputs) -> np.ndarray:
        """(N, 32) float32, standardised with the statistics of the fitted rows; the
        REQUEST_DENSE request-level columns first."""
        x = np.concatenate([self._user_dense(r), self._candidate_dense(r)],
                           axis=1).astype(np.float32)
        if self.mean is None:
            self.mean, self.std = np.nanmean(x, 0), np.maximum(np.nanstd(x, 0), 0.05)
        return self._standardise(x, slice(None))

    def _standardise(self, x: np.ndarray, cols: slice) -> np.ndarray:
        return np.clip((x - self.mean[cols]) / self.std[cols], -CLIP, CLIP)  # NaN stays NaN

    def encode(self, r: RowInputs, per_request: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """(categorical (N, F), dense (N, 32)). `per_request` = C > 1: the rows are blocks of
        C candidates of one request (serving), so the request-level columns are built once
        per request and repeated: the same arrays, C times cheaper for those columns."""
        if per_request <= 1 or self.mean is None:
            return self.categorical(r), self.dense(r)
        request_cat, dense = self.encode_requests(r, per_request)
        cat = np.concatenate([np.repeat(request_cat, per_request, axis=0),
                              self.item_categorical(r.video, r.day)], axis=1)
        return cat, dense

    def encode_requests(self, r: RowInputs, per_request: int) -> tuple[np.ndarray, np.ndarray]:
        """(request fields (B, 6) of one row per request, dense (B*C, 32)) of rows in blocks
        of C = `per_request` candidates: encode() without the candidate fields, for a ranker
        that looks their part up (ranking/item_cache.py)."""
        first = r.take(slice(None, None, per_request))                   # one row per request
        request = self._standardise(self._user_dense(first).astype(np.float32),
                                    slice(None, REQUEST_DENSE))
        candidate = self._standardise(self._candidate_dense(r).astype(np.float32),
                                      slice(REQUEST_DENSE, None))
        dense = np.concatenate([np.repeat(request, per_request, axis=0), candidate], axis=1)
        return self._categorical(self._request_columns(first), REQUEST_FIELD_NAMES), dense
