"""The benchmark's end-to-end figures: what they name, and that they are consistent."""
from feedsim.bench_e2e import end_to_end_figures, scaling_figures


def test_end_to_end_figures_of_a_small_popular_day():
    figures = end_to_end_figures(2_000, 2, "popular")
    by_unit = {f["name"].split(" @")[0]: f for f in figures}
    stages = {name for name in by_unit if name.startswith("stage ")}
    assert set(by_unit) - stages == {"end-to-end impressions/s", "day-loop impressions/s",
                                     "wall time of one day", "cost per impression",
                                     "day-loop share in steps of < 10 requests"}
    assert stages == {f"stage loop/{s}" for s in ("serve", "truth", "respond", "log")}
    loop_share = sum(by_unit[s]["share_of_day"] for s in stages)
    assert 0.3 < loop_share <= 1.0                      # the stages are most of the day
    whole, loop = by_unit["end-to-end impressions/s"], by_unit["day-loop impressions/s"]
    for f in figures:
        assert f["min"] <= f["median"] <= f["max"] and f["runs"] == 2
        assert f["device"].startswith("cpu") and f["users"] == 2_000
    assert loop["median"] >= whole["median"] > 0         # the loop is part of the day
    wall, cost = by_unit["wall time of one day"], by_unit["cost per impression"]
    assert abs(cost["median"] - 1e6 / whole["median"]) / cost["median"] < 0.5
    assert wall["median"] > 0 and whole["impressions_per_day"][0] > 1_000
    assert scaling_figures(figures) == []                # one size: nothing to compare yet
    tail = by_unit["day-loop share in steps of < 10 requests"]
    assert 0 <= tail["median"] <= 1 and 0 <= tail["tail_request_share"] < 0.5
    assert 0 < tail["tail_steps"] < tail["steps"]        # lognormal plays: a long thin tail


def test_the_tail_share_counts_small_steps_and_their_seconds():
    from feedsim.bench_e2e import tail_share
    share = tail_share([(1000, 1.0), (500, 1.0), (9, 1.0), (1, 1.0)])
    assert share == {"steps": 4, "tail_steps": 2, "tail_requests": 10 / 1510,
                     "tail_seconds": 0.5}


def test_the_fyp_policy_times_its_stages():
    from conftest import tiny_config
    from feedsim.bench_e2e import stage_seconds
    from feedsim.loop import Simulation
    sim = Simulation(tiny_config("policy=fyp", "loop.regret_sample=0"))
    sim.step_day()
    sim.step_day()                                      # day 1 trains and ranks
    stages = stage_seconds(sim)
    for stage in ("fyp/train", "fyp/retrieve", "fyp/prerank", "fyp/rank", "fyp/rerank",
                  "loop/serve", "loop/respond"):
        assert stages[stage] > 0, stage
    served = sum(stages[f"fyp/{s}"] for s in ("retrieve", "prerank", "rank", "rerank"))
    assert served <= stages["loop/serve"]               # the policy's stages are inside serve
    assert stages["loop/serve"] + stages["fyp/train"] <= sum(sim.phase_seconds.values())


def test_behaviour_figures_name_their_kernel_and_compare_it_with_the_numpy_steps():
    from feedsim.bench import behaviour_figures

    figures = {f["name"].split(" @")[0]: f for f in behaviour_figures(2_000, 2)}
    assert set(figures) == {"response model impressions/s",
                            "behaviour step (with state) impressions/s",
                            "behaviour step, numpy steps", "bare-numpy reference"}
    step, steps = figures["behaviour step (with state) impressions/s"], \
        figures["behaviour step, numpy steps"]
    assert step["kernel"] == "fused" and steps["kernel"] == "numpy"
    assert steps["fused_speedup"] > 0 and step["ratio_to_reference"] > 0
    for f in figures.values():
        assert 0 < f["min"] <= f["median"] <= f["max"] and f["runs"] == 2
