"""Benchmarks: metrics, BD-rate, x264/x265/SVT-AV1 anchors, RD runs (``run_bench``).

Submodules are imported on use; ``flavc_codec.bench.run.run_bench`` is the entry point.
"""
