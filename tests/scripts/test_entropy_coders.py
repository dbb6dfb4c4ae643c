"""benchmarks/entropy_coders.py: both coders on the same symbols, sizes against the ideal."""

from __future__ import annotations

from scripthelp import load_script


def test_reports_both_coders_and_the_range_coder_ends_shorter():
    mod = load_script("benchmarks/entropy_coders.py", "flavc_entropy_coders")
    r = mod.run(streams=60, repeats=1)
    short, large = r["short_streams"], r["large_stream"]
    assert short["count"] == 60
    assert short["range"]["mean_bits_over_ideal"] < short["rans"]["mean_bits_over_ideal"] - 16
    for name in ("rans", "range"):  # the large stream decoded back (asserted in run)
        assert large[name]["bytes"] * 8 >= large["ideal_bytes"] * 8 * 0.99
        assert large[name]["encode_s"] > 0 and large[name]["decode_s"] > 0
