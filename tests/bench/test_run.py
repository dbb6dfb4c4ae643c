import json
import os

from flavc_codec.bench.run import compute_bd, format_markdown, run_bench


def stub_runner(src, ref_frames, quality, workdir, **kw):
    """Fake flavc: a smooth RD curve with rates spanning the anchors' range."""
    if quality == 99:
        raise RuntimeError("boom")
    return {
        "codec": "flavc",
        "quality": quality,
        "frames": len(ref_frames),
        "bytes": 1000 + quality,
        "bpp": 0.3 * 2 ** (quality / 16),
        "psnr_y": 30 + quality / 4,
        "psnr_u": 40.0,
        "psnr_v": 40.0,
        "psnr_yuv": 31 + quality / 4,
        "msssim": None,
        "enc_fps": 1.0,
        "dec_fps": 2.0,
        "peak_rss_mb": 100.0,
        "error": None,
    }


def test_run_bench_schema(tmp_path, tiny_y4m, capsys):
    jp, pp = str(tmp_path / "r.json"), str(tmp_path / "rd.png")
    res = run_bench(
        [tiny_y4m, str(tmp_path / "missing.y4m")],
        frames=4,
        intra_period=2,
        qualities=[0, 16, 32, 48, 99],
        anchors=("x264",),
        json_path=jp,
        plot_path=pp,
        workdir=str(tmp_path / "w"),
        progress=False,
        anchor_qps={"x264": [20, 28, 36, 44]},
        extend_rounds=0,
        flavc_runner=stub_runner,
    )
    with open(jp) as fh:
        data = json.load(fh)
    assert os.path.getsize(pp) > 0
    for key in ("schema", "config", "conventions", "versions", "machine", "inputs", "summary"):
        assert key in data
    assert data["versions"]["av"] and "libavcodec" in data["versions"]["ffmpeg_libraries"]
    assert isinstance(data["machine"]["cores"], int)
    ok, bad = data["inputs"]
    assert bad["error"] and not bad["flavc"]
    assert ok["error"] is None and ok["frames"] == 4 and ok["width"] == 64
    assert len(ok["flavc"]) == 5 and "boom" in ok["flavc"][-1]["error"]
    x = ok["anchors"]["x264"]
    assert [p["qp"] for p in x] == [20, 28, 36, 44]
    for p in x:
        assert p["error"] is None and isinstance(p["bpp"], float) and p["frame_types"]
        assert p["b_frames"] == 0
    bd = ok["bd"]["x264"]
    assert set(bd) >= {"bd_rate_cubic", "bd_rate_pchip", "bd_psnr_cubic", "bd_psnr_pchip"}
    assert bd["test_points"] == 4 and bd["anchor_points"] == 4
    s = data["summary"]["x264"]
    assert "bd_rate_cubic" in s and s["bd_rate_cubic_n"] in (0, 1)
    assert data["summary"]["failed_inputs"] == 1
    out = capsys.readouterr().out
    assert "| anchor | BD-rate cubic" in out and "missing" in out
    assert res["inputs"][0]["name"] == "tiny"


def test_format_markdown_and_bd_reasons():
    pts = [{"bpp": 0.1 * 2**i, "psnr_yuv": 30 + 2 * i} for i in range(4)]
    far = [{"bpp": 0.1 * 2**i, "psnr_yuv": 60 + i} for i in range(4)]
    bd = compute_bd(pts, far)
    assert bd["bd_rate_cubic"] is None and "overlap" in bd["reasons"]["bd_rate_cubic"]
    res = {
        "config": {"frames": 1, "intra_period": 32, "anchors": ["x265"], "preset": "medium"},
        "summary": {"x265": {"bd_rate_cubic": -12.345, "bd_rate_cubic_n": 1}, "inputs": 1},
        "inputs": [
            {
                "name": "a",
                "width": 8,
                "height": 8,
                "frames": 1,
                "flavc": [{"quality": 3, "bpp": 0.5, "psnr_yuv": 33.0}],
                "anchors": {"x265": [{"qp": 22, "bpp": 1.0, "error": "x"}]},
                "bd": {"x265": bd},
            }
        ],
    }
    md = format_markdown(res)
    assert "-12.35%" in md and "| a | flavc | 3 | 0.5000 |" in md and "overlap" in md
    assert md.count("\n|") > 5


class _Stats:
    def __init__(self, frames, nbytes):
        self.frames, self.seconds, self.bytes = frames, 0.01, nbytes
        self.timings = {"network": 0.008, "entropy": 0.002}
        self.estimated_bits = nbytes * 8 * 0.99


def _fake_codec(monkeypatch):
    """A stand-in ``flavc_codec.codec``: keeps the top 6 bits of every sample."""
    import sys
    import types

    import numpy as np
    from bench_helpers import write_y4m

    from flavc_codec.io.reader import read_frames
    from flavc_codec.yuv import YUVFrame

    def encode_file(src, dst, quality=32, intra_period=32, frames=None, **kw):
        _, fr = read_frames(src, max_frames=frames)
        h, w = fr[0].y.shape
        blob = b"".join((p >> 2).tobytes() for f in fr for p in (f.y, f.u, f.v))
        with open(dst, "wb") as fh:
            fh.write(np.array([w, h, len(fr)], np.int32).tobytes() + blob)
        return _Stats(len(fr), len(blob) + 12)

    def decode_file(src, dst, **kw):
        data = open(src, "rb").read()
        w, h, n = np.frombuffer(data[:12], np.int32)
        buf = np.frombuffer(data[12:], np.uint8)
        cw, ch = (w + 1) // 2, (h + 1) // 2
        out, o = [], 0
        for _ in range(n):
            planes = []
            for ph, pw in ((h, w), (ch, cw), (ch, cw)):
                planes.append((buf[o : o + ph * pw].reshape(ph, pw) << 2) + 2)
                o += ph * pw
            out.append(YUVFrame(*planes))
        write_y4m(dst, out)
        return _Stats(int(n), len(data))

    mod = types.ModuleType("flavc_codec.codec")
    mod.encode_file, mod.decode_file = encode_file, decode_file
    monkeypatch.setitem(sys.modules, "flavc_codec.codec", mod)


def test_flavc_point_with_fake_engine(tmp_path, tiny_y4m, monkeypatch):
    from flavc_codec.bench.run import flavc_point
    from flavc_codec.io.reader import read_frames

    _fake_codec(monkeypatch)
    _, ref = read_frames(tiny_y4m, max_frames=3)
    p = flavc_point(tiny_y4m, ref, 20, str(tmp_path), intra_period=32, with_msssim=False)
    assert p["error"] is None, p["error"]
    assert p["bpp"] == p["bytes"] * 8 / (64 * 48 * 3)
    assert 45 < p["psnr_yuv"] < 55  # 6-bit samples with mid-rounding: ~52.9 dB
    assert p["time_source"] == "engine" and p["enc_fps"] == 300
    assert p["timings"]["entropy"] == 0.002 and p["peak_rss_mb"] > 0
    assert not list(tmp_path.glob("*.flavc"))  # cleaned up


def test_sweep_extends_toward_flavc(tmp_path, tiny_y4m):
    def high_rate(src, ref, q, wd, **kw):
        return dict(stub_runner(src, ref, q, wd), bpp=50.0 + q, psnr_yuv=70.0 + q / 10)

    res = run_bench(
        [tiny_y4m],
        frames=2,
        qualities=[0, 10, 20, 30],
        anchors=["x264"],
        progress=False,
        anchor_qps={"x264": [40, 45]},
        extend_rounds=1,
        flavc_runner=high_rate,
        with_msssim=False,
        print_table=False,
    )
    assert [p["qp"] for p in res["inputs"][0]["anchors"]["x264"]] == [30, 35, 40, 45]


def test_extension_spans_the_test_curve():
    """Anchors are extended until they span the test curve's PSNR range, not only until
    the curves touch (a 0.07 dB overlap made a BD-rate of noise)."""
    from flavc_codec.bench.run import _needs_extension

    def pts(*pairs):
        return [{"bpp": r, "psnr_yuv": d, "error": None} for r, d in pairs]

    test = pts((0.13, 27.2), (0.24, 29.7), (0.53, 30.9))
    assert _needs_extension(pts((0.23, 30.8), (0.32, 33.7), (1.66, 45.0)), test) == 1
    assert _needs_extension(pts((0.19, 28.6), (0.23, 30.8), (1.66, 45.0)), test) == 1
    assert _needs_extension(pts((0.12, 26.9), (0.23, 30.8), (1.66, 45.0)), test) == 0
    assert _needs_extension(pts((0.05, 20.0), (0.2, 29.0)), test) == -1  # stops below the top
    assert _needs_extension(pts((0.02, 18.0), (0.05, 22.0)), test) == -1  # no overlap
    assert _needs_extension(pts((1.0, 40.0), (2.0, 45.0)), test) == 1  # no overlap
    assert _needs_extension(pts((0.1, 26.0), (0.3, 30.0), (0.4, 28.0)), test) == -1
    assert _needs_extension([], test) == 0


def test_bench_cli_with_trained_weights(tmp_path, tiny_y4m):
    """`flavc bench --weights FILE`: the flavc points come from that file (a user's own
    training run), recorded by path and hash; a missing file is one error line."""
    from click.testing import CliRunner
    from helpers_model import build_weights

    from flavc_codec.cli import main

    w, h = build_weights(tmp_path, "flavc", seed=3)
    jp = tmp_path / "b.json"
    args = ["bench", tiny_y4m, "--frames", "2", "--qualities", "10,40", "--anchors", "x264",
            "--device", "cpu", "--weights", str(w), "--json", str(jp)]  # fmt: skip
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    data = json.loads(jp.read_text())
    assert data["config"]["weights"] == {"path": str(w), "hash": h}
    pts = data["inputs"][0]["flavc"]
    assert [p["quality"] for p in pts] == [10, 40]
    assert all(p["error"] is None and p["bytes"] > 0 for p in pts)
    r = CliRunner().invoke(main, [*args[:-4], "--weights", str(tmp_path / "none.safetensors")])
    assert r.exit_code != 0 and "none.safetensors: no such file" in r.output


def test_bench_records_the_drift_guard(tmp_path, tiny_y4m):
    """The encoder's drift guard changes flavc's points (it inserts I-frames), so a result
    says which setting made it: in the config, the report line and each point's count."""
    from click.testing import CliRunner
    from helpers_model import build_weights

    from flavc_codec.cli import main
    from flavc_codec.codec import DRIFT_GUARD_DB

    w, _ = build_weights(tmp_path, "flavc", seed=3)
    jp = tmp_path / "b.json"
    args = ["bench", tiny_y4m, "--frames", "3", "--qualities", "10", "--anchors", "x264",
            "--device", "cpu", "--weights", str(w), "--json", str(jp)]  # fmt: skip
    r = CliRunner().invoke(main, [*args, "--drift-guard", "1.5"])
    assert r.exit_code == 0, r.output
    data = json.loads(jp.read_text())
    assert data["config"]["drift_guard"] == 1.5
    assert isinstance(data["inputs"][0]["flavc"][0]["guard_intra"], int)
    assert "drift guard 1.5 dB" in r.output
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert json.loads(jp.read_text())["config"]["drift_guard"] == DRIFT_GUARD_DB
    res = run_bench([tiny_y4m], frames=1, qualities=[], anchors=["x264"], progress=False,
                    anchor_qps={"x264": [30]}, print_table=False)  # fmt: skip
    assert res["config"]["drift_guard"] is None  # anchors only: no flavc encoder ran
    off = dict(data, config=dict(data["config"], drift_guard=0.0))
    assert "drift guard off" in format_markdown(off)
    assert "drift guard" not in format_markdown(dict(data, config={}))


def test_bench_records_the_refinement_per_frame_type(tmp_path, tiny_y4m):
    """I- and P-frames have their own refinement steps (I-frames are refined by default):
    the config and the report line say both, and results written before the split read as
    one number for every frame."""
    from click.testing import CliRunner
    from helpers_model import build_weights

    from flavc_codec.cli import main
    from flavc_codec.codec import DEFAULT_REFINE_INTRA, resolve_refine_intra

    w, _ = build_weights(tmp_path, "flavc-light", seed=4)
    jp = tmp_path / "b.json"
    args = ["bench", tiny_y4m, "--frames", "2", "--qualities", "10", "--anchors", "x264",
            "--device", "cpu", "--weights", str(w), "--json", str(jp)]  # fmt: skip
    r = CliRunner().invoke(main, [*args, "--refine", "2", "--refine-intra", "3"])
    assert r.exit_code == 0, r.output
    data = json.loads(jp.read_text())
    assert (data["config"]["refine"], data["config"]["refine_intra"]) == (2, 3)
    assert data["inputs"][0]["flavc"][0]["refine_intra"] == 3
    assert "encoder refinement 3 steps per I-frame and 2 per P-frame" in r.output
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    cfg = json.loads(jp.read_text())["config"]
    assert (cfg["refine"], cfg["refine_intra"]) == (0, DEFAULT_REFINE_INTRA)
    assert resolve_refine_intra(0, None) == DEFAULT_REFINE_INTRA
    assert resolve_refine_intra(DEFAULT_REFINE_INTRA + 5, None) == DEFAULT_REFINE_INTRA + 5
    assert resolve_refine_intra(7, 0) == 0
    old = dict(data, config={k: v for k, v in cfg.items() if k != "refine_intra"})
    assert "encoder refinement 0 steps per frame" in format_markdown(old)


def test_bench_records_the_key_structure(tmp_path, tiny_y4m):
    """Key P-frames change flavc's points, so the config records the structure the encoder
    used: the options' values, else the weights' own (here trained with period 2, +5),
    and the report line says it; weights trained without record 0 and say nothing."""
    import torch
    from click.testing import CliRunner

    from flavc_codec.cli import main
    from flavc_codec.models.flavc import FLAVC, save_weights
    from flavc_codec.models.registry import get_variant

    torch.manual_seed(5)
    model = FLAVC(get_variant("flavc-light")).eval()
    model.update_tables()
    w = tmp_path / "k.safetensors"
    save_weights(model, w, {"config": {"key_period": 2, "key_offset": 5}})
    jp = tmp_path / "b.json"
    args = ["bench", tiny_y4m, "--frames", "3", "--qualities", "10", "--anchors", "x264",
            "--device", "cpu", "--weights", str(w), "--json", str(jp)]  # fmt: skip
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    cfg = json.loads(jp.read_text())["config"]
    assert (cfg["key_period"], cfg["key_offset"]) == (2, 5)
    assert "key P-frames every 2 at quality +5" in r.output
    r = CliRunner().invoke(main, [*args, "--key-period", "0"])
    assert r.exit_code == 0, r.output
    cfg = json.loads(jp.read_text())["config"]
    assert (cfg["key_period"], cfg["key_offset"]) == (0, 5)
    assert "key P-frames" not in r.output
