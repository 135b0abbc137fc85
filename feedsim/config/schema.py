"""The typed schema of every config group.

Each Hydra group (world, behavior, policy, loop) is backed by one dataclass here, so a misspelt
or ill-typed key fails when the config is composed, naming the key. Components receive these
small typed objects, never the whole config. Defaults describe the `default` world preset.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hydra.core.config_store import ConfigStore

from feedsim.ranking.config import RankingConfig
from feedsim.rerank.config import RerankConfig
from feedsim.retrieval.config import RetrievalConfig

MARKETS = ("US", "UK", "IE", "SE", "NO", "DK", "FI", "JP", "BR", "IN")


@dataclass
class WorldConfig:
    """Sizes and generative parameters of the synthetic world (feedsim.world)."""
    name: str = "default"
    n_users: int = 10_000
    n_creators: int = 2_000
    n_videos: int = 40_000             # initial catalogue; creators upload more every day
    n_topics: int = 31                 # KuaiRec has 31 content tags
    style_dim: int = 16                # fine-grained styles (sub-genres) beyond topics
    n_sounds: int = 3_000
    markets: list[str] = field(default_factory=lambda: list(MARKETS))
    market_weights: list[float] = field(
        default_factory=lambda: [0.30, 0.08, 0.02, 0.04, 0.03, 0.03, 0.03, 0.12, 0.17, 0.18])
    interest_concentration: float = 0.3   # Dirichlet alpha: small = a few dominant topics
    activity_mu: float = 3.74              # plays per active day, lognormal (CALIBRATION)
    activity_sigma: float = 1.09
    follower_median: float = 48.0
    follower_tail_alpha: float = 1.15      # Pareto exponent above follower_tail_start
    follower_tail_start: float = 1_000.0
    follower_max: float = 2_000_000.0
    initial_follows_median: float = 12.0   # follows among this world's creators at day 0
    duration_median_s: float = 8.5
    duration_sigma: float = 0.35
    duration_tail_share: float = 0.05      # share of videos in the long heavy tail
    duration_tail_alpha: float = 1.3
    duration_max_s: float = 315.0
    uploads_per_creator_day: float = 0.5
    clickbait_creator_share: float = 0.1
    moderation_rate: float = 0.01
    n_initial_trends: int = 8
    trend_births_per_day: float = 2.0
    trend_life_days: float = 5.0
    trend_peak: float = 1.0
    max_memory_gb: float = 8.0


@dataclass
class BehaviorConfig:
    """Parameters of the response model and session dynamics (feedsim.behavior)."""
    hook_bias: float = 1.6
    hook_weight: float = 1.0
    affinity_interest: float = 1.5
    affinity_style: float = 0.5
    affinity_language: float = 1.0        # penalty when the video's language is not the user's
    affinity_follow: float = 0.6
    affinity_trend: float = 0.8
    quality_weight: float = 1.0            # weight of satisfaction quality in a view's utility
    watch_ratio_mu: float = -0.12
    watch_ratio_sigma: float = 0.5
    watch_ratio_affinity: float = 0.35
    watch_ratio_duration: float = 0.25     # longer videos are watched to a smaller ratio
    loop_limit: float = 5.0                # watch seconds never exceed loop_limit x duration
    like_bias: float = -4.35
    comment_bias: float = -6.3
    share_bias: float = -8.0
    follow_bias: float = -7.4
    hate_bias: float = -8.8
    follow_after_like: float = 2.8         # log-odds lift of follow when the user liked
    boredom_weight: float = 0.5
    boredom_decay: float = 0.85            # per video watched
    creator_buckets: int = 64             # hashed creator slots of satiation per user (power of 2)
    creator_satiation: float = 0.35
    leave_bias: float = -2.55
    leave_temper: float = 1.5             # how strongly running satisfaction holds the user
    leave_fatigue: float = 0.02           # per video already watched in the session
    session_videos_target: float = 17.0   # mean videos per session, sets sessions per day
    return_bias: float = -0.8
    return_loyalty: float = 1.3          # spread of a per-user loyalty in the return logit
    return_activity: float = 0.3
    return_satisfaction: float = 1.0
    return_memory: float = 0.5          # weight of past days in the satisfaction memory
    drift_rate: float = 0.02
    satisfaction_weight: float = 1.0      # long-term term of the true value
    threads: int = 2                      # shards of users answered in parallel threads
    kernel: str = "fused"                 # fused: one compiled pass per page; numpy: array steps


@dataclass
class PolicyConfig:
    """Which feed policy serves pages, and its knobs (feedsim.policy)."""
    name: str = "popular"
    popular_halflife_days: float = 1.0
    popular_pool: int = 2_000
    oracle_candidates: int = 200
    prerank_per_source: int = 1        # fyp: pre-rank slots reserved for each source's best
    prerank: int = 24                  # fyp: candidates kept by the cheap pre-rank for the ranker
    retrain_every_days: int = 1        # fyp: retrain retrieval and ranking every N days
    retrieval_cache: str = "day"       # fyp: request | session | day (see feedsim/policy/fyp.py)
    refill_below: int = 100            # fyp, day cache: retrieve again below this many unseen
    live_sources: list[str] = field(default_factory=list)  # fyp: real-time sources (live.py)
    live_candidates: int = 20          # fyp: each live source's best appended per request
    live_refresh_requests: int = 1000  # fyp: live sources refit every this many requests
    exclude_seen: bool = True


@dataclass
class LoopConfig:
    """The day loop (feedsim.loop): how long to run and what to log."""
    days: int = 3
    page_size: int = 6
    max_pages_per_session: int = 200
    seen_window: int = 512             # recently served videos remembered per user
    log_memory_days: int = 7           # days of impression logs held in memory: all the learned
    #                                    policies can train on (their windows are 7 days); fewer
    #                                    saves memory in large worlds (1: today's only)
    regret_sample: float = 0.05        # share of requests also served by the oracle for regret
    views_milestone_per_user: float = 0.1   # new-video view milestone = this x users (1 k at 10 k)
    write_impressions: bool = True
    report: bool = True                # write report.html at the end of the run
    progress: bool = True


@dataclass
class Config:
    """The root of the composed config: one seed, one device, one node per group."""
    seed: int = 0
    device: str = "auto"
    overwrite: bool = False
    resume: bool = False               # continue the run in the run directory from its checkpoint
    world: WorldConfig = field(default_factory=WorldConfig)
    behavior: BehaviorConfig = field(default_factory=BehaviorConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    loop: LoopConfig = field(default_factory=LoopConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    ranking: RankingConfig = field(default_factory=RankingConfig)
    rerank: RerankConfig = field(default_factory=RerankConfig)


def register_schemas() -> None:
    """Register the schemas so each group's yaml can extend `<group>_schema`."""
    cs = ConfigStore.instance()
    cs.store(name="config_schema", node=Config)
    cs.store(group="world", name="world_schema", node=WorldConfig)
    cs.store(group="behavior", name="behavior_schema", node=BehaviorConfig)
    cs.store(group="policy", name="policy_schema", node=PolicyConfig)
    cs.store(group="loop", name="loop_schema", node=LoopConfig)
    cs.store(group="retrieval", name="retrieval_schema", node=RetrievalConfig)
    cs.store(group="ranking", name="ranking_schema", node=RankingConfig)
    cs.store(group="rerank", name="rerank_schema", node=RerankConfig)
