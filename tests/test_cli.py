"""The ``flavc`` command line (click CliRunner): help, encode/decode/info round trip, JSON,
one-line errors, y4m on stdout, mkv output, and a torch-free ``info``."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import helpers_model
import pytest
from click.testing import CliRunner

from flavc_codec.cli import main

model_weights = helpers_model.model_weights  # session fixture: random-init weights
light_weights = helpers_model.light_weights


@pytest.fixture
def runner(monkeypatch):
    monkeypatch.delenv("FLAVC_WEIGHTS", raising=False)
    return CliRunner()


def _err_line(result) -> str:
    """The failure contract: non-zero exit, exactly one stderr line, starting 'error:'."""
    assert result.exit_code != 0, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture(scope="module")
def encoded(tmp_path_factory, light_weights):
    """A 4-frame 33x17 stream (I P I P) encoded once through the CLI."""
    d = tmp_path_factory.mktemp("cli")
    src = helpers_model.write_clip(d / "src.y4m", helpers_model.synthetic_frames(33, 17, 4))
    stream = d / "s.flv"
    args = ["encode", str(src), str(stream), "--model", "flavc-light", "-q", "20"]
    args += ["--weights", str(light_weights), "--intra-period", "2", "--device", "cpu"]
    r = CliRunner().invoke(main, [*args, "--quiet", "--json"])
    assert r.exit_code == 0, r.output
    return src, stream, json.loads(r.stdout)


def test_help_lists_commands(runner):
    r = runner.invoke(main, ["--help"])
    assert r.exit_code == 0
    for cmd in ("encode", "decode", "info", "demo", "bench", "train"):
        assert cmd in r.stdout
    r = runner.invoke(main, ["--version"])
    assert r.exit_code == 0 and "flavc" in r.stdout
    for cmd in ("encode", "decode", "info"):
        r = runner.invoke(main, [cmd, "--help"])
        assert r.exit_code == 0 and "Usage" in r.stdout


def test_encode_decode_info_roundtrip(runner, encoded, tmp_path, light_weights):
    src, stream, st = encoded
    assert st["frames"] == 4 and st["width"] == 33 and st["height"] == 17
    assert st["bytes"] == stream.stat().st_size and st["bpp"] > 0
    out = tmp_path / "d.y4m"
    r = runner.invoke(main, ["decode", str(stream), str(out), "--weights", str(light_weights),
                             "--device", "cpu", "--quiet"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "4 frames 33x17" in r.stdout
    from flavc_codec.io.reader import read_frames

    info, frames = read_frames(str(out))
    assert (info.width, info.height, len(frames)) == (33, 17, 4)

    r = runner.invoke(main, ["info", str(stream)])
    assert r.exit_code == 0
    assert "flavc stream" in r.stdout and "33x17, 4 frames (2 I, 2 P)" in r.stdout
    assert "flavc-light" in r.stdout
    assert "flags        0x00000007 (pad16, one-stream, range-coder)" in r.stdout

    r = runner.invoke(main, ["info", str(stream), "--json", "--frames", "--verify"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["format"] == "flavc" and d["width"] == 33 and d["height"] == 17
    assert d["frame_count"] == 4 and d["quality"] == 20 and d["intra_period"] == 2
    assert d["flags"] == 7
    assert d["model_id"] == 2 and d["model_name"] == "flavc-light"
    assert d["weights_hash"].startswith(helpers_model_hash(light_weights)[:16])
    assert d["file_bytes"] == stream.stat().st_size and d["verified"] is True
    assert [f["type"] for f in d["frames"]] == ["I", "P", "I", "P"]
    assert [f["frame"] for f in d["frames"]] == [0, 1, 2, 3]
    assert sum(f["bytes"] for f in d["frames"]) == d["frame_bytes"]
    r = runner.invoke(main, ["info", str(stream), "--json"])
    assert "frames" not in json.loads(r.stdout)


def helpers_model_hash(path) -> str:
    from flavc_codec.models.flavc import weights_hash

    return weights_hash(path)


def test_decode_to_stdout(runner, encoded, tmp_path, light_weights):
    _, stream, _ = encoded
    ref = tmp_path / "ref.y4m"
    r = runner.invoke(main, ["decode", str(stream), str(ref), "--weights", str(light_weights),
                             "--device", "cpu", "--quiet"])  # fmt: skip
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["decode", str(stream), "-", "--weights", str(light_weights),
                             "--device", "cpu"])  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert r.stdout_bytes.startswith(b"YUV4MPEG2 W33 H17 ")
    assert r.stdout_bytes == ref.read_bytes()
    r = runner.invoke(
        main, ["decode", str(stream), "--weights", str(light_weights), "--device", "cpu"]
    )  # fmt: skip  (default output: stdout)
    assert r.exit_code == 0 and r.stdout_bytes == ref.read_bytes()


def test_decode_to_mkv(runner, encoded, tmp_path, light_weights):
    import av

    _, stream, _ = encoded
    out = tmp_path / "d.mkv"
    r = runner.invoke(main, ["decode", str(stream), str(out), "--weights", str(light_weights),
                             "--device", "cpu", "--quiet"])  # fmt: skip
    assert r.exit_code == 0, r.output
    with av.open(str(out)) as c:
        frames = list(c.decode(video=0))
    assert len(frames) == 4
    assert (frames[0].width, frames[0].height) == (33, 17)


def test_decode_with_weights_from_env(runner, encoded, tmp_path, model_weights, monkeypatch):
    _, stream, _ = encoded
    monkeypatch.setenv("FLAVC_WEIGHTS", str(model_weights.folder))
    r = runner.invoke(main, ["decode", str(stream), str(tmp_path / "d.y4m"), "--quiet",
                             "--device", "cpu"])  # fmt: skip
    assert r.exit_code == 0, r.output


def test_decode_wrong_weights(runner, encoded, tmp_path, model_weights):
    _, stream, _ = encoded
    other = str(model_weights["flavc"])
    r = runner.invoke(main, ["decode", str(stream), str(tmp_path / "d.y4m"), "--quiet",
                             "--weights", other, "--device", "cpu"])  # fmt: skip
    line = _err_line(r)
    assert "weights" in line and "flavc-light" in line


def test_info_errors(runner, encoded, tmp_path):
    _, stream, _ = encoded
    data = stream.read_bytes()
    other = tmp_path / "other.bin"
    other.write_bytes(b"RIFF" + bytes(200))
    _err_line(runner.invoke(main, ["info", str(other)]))
    text = tmp_path / "text.flv"
    text.write_text("hello\n")
    _err_line(runner.invoke(main, ["info", str(text)]))
    empty = tmp_path / "empty.flv"
    empty.write_bytes(b"")
    _err_line(runner.invoke(main, ["info", str(empty)]))
    for n in (10, len(data) // 2, len(data) - 3):
        cut = tmp_path / f"cut{n}.flv"
        cut.write_bytes(data[:n])
        _err_line(runner.invoke(main, ["info", str(cut)]))
        _err_line(runner.invoke(main, ["info", str(cut), "--json"]))
    line = _err_line(runner.invoke(main, ["info", str(tmp_path / "missing.flv")]))
    assert "missing.flv" in line
    r = runner.invoke(main, ["info", str(tmp_path)])  # a directory: click's usage error
    assert r.exit_code == 2 and "Traceback" not in r.output and "directory" in r.stderr


def test_info_verify_detects_damage(runner, encoded, tmp_path):
    _, stream, _ = encoded
    from flavc_codec.bitstream import StreamReader

    with StreamReader(stream) as r:
        e = r.index[1]
    b = bytearray(stream.read_bytes())
    b[e.offset + e.nbytes - 1] ^= 0x10  # inside frame 1's payload
    bad = tmp_path / "bad.flv"
    bad.write_bytes(bytes(b))
    assert runner.invoke(main, ["info", str(bad)]).exit_code == 0  # structure only
    line = _err_line(runner.invoke(main, ["info", str(bad), "--verify"]))
    assert "frame 1" in line


def test_decode_errors(runner, encoded, tmp_path, light_weights):
    _, stream, _ = encoded
    _err_line(runner.invoke(main, ["decode", str(tmp_path / "missing.flv"), "-"]))
    cut = tmp_path / "cut.flv"
    cut.write_bytes(stream.read_bytes()[:-5])
    _err_line(runner.invoke(main, ["decode", str(cut), str(tmp_path / "o.y4m"), "--weights",
                                   str(light_weights), "--device", "cpu"]))  # fmt: skip


def test_encode_errors(runner, tmp_path, light_weights, make_clip):
    bad = tmp_path / "notavideo.mp4"
    bad.write_text("definitely not a video\n")
    out = tmp_path / "s.flv"
    base = ["--model", "flavc-light", "--weights", str(light_weights), "--device", "cpu", "--quiet"]
    _err_line(runner.invoke(main, ["encode", str(bad), str(out), *base]))
    assert not out.exists() and not (tmp_path / "s.flv.part").exists()
    _err_line(runner.invoke(main, ["encode", str(tmp_path / "missing.y4m"), str(out), *base]))
    src = make_clip(33, 17, n=2)
    line = _err_line(runner.invoke(main, ["encode", str(src), str(out), *base,
                                          "--intra-period", "0"]))  # fmt: skip
    assert "intra-period" in line
    # weights of another model
    args = ["encode", str(src), str(out), "--model", "flavc", "--weights", str(light_weights)]
    line = _err_line(runner.invoke(main, [*args, "--device", "cpu"]))
    assert "flavc-light" in line
    # out-of-range quality is a usage error (click), not a traceback
    r = runner.invoke(main, ["encode", str(src), str(out), *base, "-q", "64"])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert not out.exists()


def test_drift_guard_option_matches_the_encoder_default():
    """The CLI states the guard's default without importing torch; it must be the codec's."""
    from flavc_codec.codec import DRIFT_GUARD_DB

    for cmd in ("encode", "bench"):
        opt = next(p for p in main.commands[cmd].params if p.name == "drift_guard")
        assert opt.default == DRIFT_GUARD_DB


def test_refine_intra_option_matches_the_encoder_default():
    """--refine-intra's default is the encoder's (None: max(--refine, DEFAULT_REFINE_INTRA));
    the help states the number without importing torch, so it must be the codec's."""
    from flavc_codec.codec import DEFAULT_REFINE_INTRA

    for cmd in ("encode", "bench"):
        opt = next(p for p in main.commands[cmd].params if p.name == "refine_intra")
        assert opt.default is None
        assert f"the larger of --refine and {DEFAULT_REFINE_INTRA};" in opt.help


def test_encode_with_refinement(runner, encoded, tmp_path, light_weights):
    """--refine N: a stream of the same format that the plain decoder reads back to the
    encoder's own reconstruction."""
    src, _, _ = encoded
    stream, recon, out = tmp_path / "r.flv", tmp_path / "enc.y4m", tmp_path / "dec.y4m"
    args = ["encode", str(src), str(stream), "--model", "flavc-light", "-q", "20", "--quiet"]
    args += ["--weights", str(light_weights), "--intra-period", "2", "--device", "cpu"]
    r = runner.invoke(main, [*args, "--refine", "3", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["frames"] == 4
    from flavc_codec.codec import decode_file, encode_file

    encode_file(str(src), str(stream), quality=20, intra_period=2, device="cpu",
                model="flavc-light", progress=False, weights=light_weights, recon=str(recon),
                refine=3)  # fmt: skip
    decode_file(str(stream), str(out), device="cpu", progress=False, weights=light_weights)
    assert out.read_bytes() == recon.read_bytes()
    r = runner.invoke(main, [*args, "--refine", "-1"])
    assert r.exit_code == 2 and "Traceback" not in r.output
    r = runner.invoke(main, [*args, "--refine-intra", "-1"])
    assert r.exit_code == 2 and "Traceback" not in r.output
    # I-frames alone (the default refines them; here 3 steps, P-frames plain)
    encode_file(str(src), str(stream), quality=20, intra_period=2, device="cpu",
                model="flavc-light", progress=False, weights=light_weights, recon=str(recon),
                refine=0, refine_intra=3)  # fmt: skip
    decode_file(str(stream), str(out), device="cpu", progress=False, weights=light_weights)
    assert out.read_bytes() == recon.read_bytes()
    r = runner.invoke(main, ["encode", "--help"])
    assert "--refine" in r.stdout and "--refine-intra" in r.stdout


def test_encode_with_key_p_frames(runner, encoded, tmp_path, light_weights):
    """--key-period/--key-offset: every 2nd P-frame after an I-frame carries q + 7 in the
    stream; out-of-range values are usage errors, not tracebacks."""
    from flavc_codec.bitstream import StreamReader

    src, _, _ = encoded
    stream = tmp_path / "k.flv"
    args = ["encode", str(src), str(stream), "--model", "flavc-light", "-q", "20", "--quiet"]
    args += ["--weights", str(light_weights), "--intra-period", "-1", "--device", "cpu"]
    r = runner.invoke(main, [*args, "--key-period", "2", "--key-offset", "7"])
    assert r.exit_code == 0, r.output
    with StreamReader(stream) as rd:
        assert [e.quality for e in rd.index] == [20, 20, 27, 20]
    for bad in (["--key-period", "-1"], ["--key-offset", "64"]):
        r = runner.invoke(main, [*args, *bad])
        assert r.exit_code == 2 and "Traceback" not in r.output


def test_info_does_not_import_torch(encoded):
    _, stream, _ = encoded
    code = textwrap.dedent(f"""
        import json, sys
        from click.testing import CliRunner
        from flavc_codec.cli import main
        r = CliRunner().invoke(main, ["info", {str(stream)!r}, "--json", "--frames"])
        assert r.exit_code == 0, r.output
        json.loads(r.stdout)
        r = CliRunner().invoke(main, ["--help"])
        assert r.exit_code == 0
        print("torch" in sys.modules, "numpy" in sys.modules)
    """)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    torch_loaded, _numpy_loaded = p.stdout.split()
    assert torch_loaded == "False"
