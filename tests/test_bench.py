"""The benchmark's end-to-end figures: what they name, and that they are consistent."""
from feedsim.bench_e2e import end_to_end_figures, scaling_figures


def test_end_to_end_figures_of_a_small_popular_day():
    figures = end_to_end_figures(2_000, 2, "popular")
    by_unit = {f["name"].split(" @")[0]: f for f in figures}
    assert set(by_unit) == {"end-to-end impressions/s", "day-loop impressions/s",
                            "wall time of one day", "cost per impression"}
    whole, loop = by_unit["end-to-end impressions/s"], by_unit["day-loop impressions/s"]
    for f in figures:
        assert f["min"] <= f["median"] <= f["max"] and f["runs"] == 2
        assert f["device"].startswith("cpu") and f["users"] == 2_000
    assert loop["median"] >= whole["median"] > 0         # the loop is part of the day
    wall, cost = by_unit["wall time of one day"], by_unit["cost per impression"]
    assert abs(cost["median"] - 1e6 / whole["median"]) / cost["median"] < 0.5
    assert wall["median"] > 0 and whole["impressions_per_day"][0] > 1_000
    assert scaling_figures(figures) == []                # one size: nothing to compare yet
