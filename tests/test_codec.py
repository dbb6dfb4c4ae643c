"""The engine: encode_file/decode_file round trips at odd sizes, GOP structure, errors,
atomic output, damaged streams, EncodeStats. Uses small random-init test weights."""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path

import helpers_model
import numpy as np
import pytest
from helpers_model import build_weights, synthetic_frames

from flavc_codec.bitstream import FRAME_I, FRAME_P, FrameChunk, StreamReader, StreamWriter
from flavc_codec.codec import (
    Decoder,
    Encoder,
    decode_file,
    encode_file,
    encode_with,
    resolve_device,
)
from flavc_codec.errors import FlavcError
from flavc_codec.io.reader import read_frames
from flavc_codec.yuv import YUVFrame

model_weights = helpers_model.model_weights  # session fixtures: random-init weights
light_weights = helpers_model.light_weights


@pytest.fixture(autouse=True)
def _no_weights_env(monkeypatch):
    monkeypatch.delenv("FLAVC_WEIGHTS", raising=False)


def _encode(src, dst, weights, model="flavc-light", **kw):
    kw.setdefault("progress", False)
    kw.setdefault("device", "cpu")
    return encode_file(str(src), str(dst), model=model, weights=weights, **kw)


def _decode(src, dst, weights=None, **kw):
    kw.setdefault("progress", False)
    kw.setdefault("device", "cpu")
    return decode_file(str(src), str(dst), weights=weights, **kw)


def _one_line(exc: BaseException) -> str:
    msg = str(exc)
    assert msg and "\n" not in msg, repr(msg)
    return msg


# ---- round trips -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "w,h,ext,pix_fmt,model",
    [
        (33, 17, ".y4m", "yuv420p", "flavc-light"),
        (65, 257, ".mkv", "yuv420p", "flavc-light"),
        (33, 17, ".mkv", "yuv420p10le", "flavc-light"),
        (33, 17, ".y4m", "yuv420p", "flavc"),
    ],
)
def test_roundtrip_odd_sizes(make_clip, tmp_path, model_weights, w, h, ext, pix_fmt, model):
    n = 2 if w * h > 10_000 else 3  # I P (I)
    src = make_clip(w, h, n=n, ext=ext, pix_fmt=pix_fmt)
    stream, recon, out = tmp_path / "s.flv", tmp_path / "enc.y4m", tmp_path / "dec.y4m"
    st = _encode(src, stream, model_weights[model], model=model, intra_period=2, recon=recon)
    assert (st.frames, st.width, st.height) == (n, w, h)
    ds = _decode(stream, out, model_weights[model])
    assert (ds.frames, ds.width, ds.height) == (n, w, h)
    info, frames = read_frames(str(out))
    assert (info.width, info.height, len(frames)) == (w, h, n)
    for f in frames:
        assert f.y.shape == (h, w) and f.u.shape == ((h + 1) // 2, (w + 1) // 2)
    assert out.read_bytes() == recon.read_bytes()
    with StreamReader(stream) as r:
        assert r.header.source_pix_fmt == pix_fmt
        assert r.header.source_bit_depth == (10 if "10" in pix_fmt else 8)
        assert r.header.model_id == (2 if model == "flavc-light" else 1)
        assert (r.header.width, r.header.height) == (w, h)
    assert not Path(str(stream) + ".part").exists()


def test_encode_with_a_custom_encoder(make_clip, tmp_path, light_weights):
    """encode_with runs encode_file's loop with a caller's Encoder: here one that picks each
    frame's quality itself; every frame carries its own quality, the decoder reproduces the
    encoder's reconstruction, and a failed encode removes the partial reconstruction."""

    class Alternating(Encoder):
        def encode(self, frame):
            self.quality = 10 if self.index % 2 else 40
            return super().encode(frame)

    src = make_clip(33, 17, n=4)
    stream, recon, out = tmp_path / "s.flv", tmp_path / "r.y4m", tmp_path / "o.y4m"
    enc = Alternating("flavc-light", 40, 32, "cpu", light_weights, drift_guard=0)
    st = encode_with(enc, str(src), str(stream), progress=False, recon=str(recon))
    assert st.frames == 4
    with StreamReader(stream) as r:
        assert [r.read_frame(i).quality for i in range(len(r))] == [40, 10, 40, 10]
    _decode(stream, out, light_weights)
    assert out.read_bytes() == recon.read_bytes()

    class Failing(Encoder):
        def encode(self, frame):
            if self.index == 2:
                raise RuntimeError("stop")
            return super().encode(frame)

    enc = Failing("flavc-light", 40, 32, "cpu", light_weights)
    with pytest.raises(RuntimeError):
        encode_with(
            enc, str(src), str(tmp_path / "f.flv"), progress=False, recon=str(tmp_path / "f.y4m")
        )
    assert not (tmp_path / "f.flv").exists() and not (tmp_path / "f.y4m").exists()


def test_encoder_decoder_api_in_memory(model_weights):
    """Encoder/Decoder on frames directly: decoder output equals encoder recon."""
    frames = synthetic_frames(47, 31, 3, seed=5)
    enc = Encoder("flavc-light", quality=20, intra_period=-1, device="cpu",
                  weights=model_weights["flavc-light"])  # fmt: skip
    from flavc_codec.io.reader import SourceInfo

    info = SourceInfo(47, 31, 30, 1, 3, "yuv420p", 1, 1, 1, 1)
    dec = Decoder(enc.header(info), device="cpu", weights=model_weights["flavc-light"])
    for i, f in enumerate(frames):
        chunk, rec, est = enc.encode(f)
        assert chunk.frame_type == (FRAME_I if i == 0 else FRAME_P)
        assert chunk.quality == 20 and est > 0
        got = dec.decode(chunk, i)
        assert isinstance(got, YUVFrame)
        for a, b in zip(got.planes, rec.planes, strict=True):
            np.testing.assert_array_equal(a, b)
    assert {"entropy", "network"} <= set(enc.timer.t)


@pytest.mark.parametrize("guard,types", [(3.0, "IIPI"), (0.0, "IPPP")])
def test_drift_guard_recodes_a_diverged_p_frame_as_intra(model_weights, guard, types):
    """A P-frame far below the last I-frame's PSNR is coded again as an I-frame (the
    decoder follows the frame type, output still bit-exact); guard 0 never does."""
    from flavc_codec.io.reader import SourceInfo

    w = model_weights["flavc-light"]
    frames = synthetic_frames(47, 31, 4, seed=6)
    enc = Encoder("flavc-light", 20, -1, "cpu", w, drift_guard=guard)
    dec = Decoder(enc.header(SourceInfo(47, 31, 30, 1, 4, "yuv420p", 1, 1, 1, 1)), "cpu", w)
    got = ""
    for i, f in enumerate(frames):
        if i in (1, 3):
            enc._i_psnr = 1000.0  # as if the last I-frame were perfect: this P-frame "diverged"
        chunk, rec, _ = enc.encode(f)
        got += "IP"[chunk.frame_type]
        for a, b in zip(dec.decode(chunk, i).planes, rec.planes, strict=True):
            np.testing.assert_array_equal(a, b)
    assert got == types
    assert enc.guard_intra == types.count("I") - 1


@pytest.mark.parametrize("q", [30, 60])
def test_key_p_frames_at_an_offset_quality(model_weights, q):
    """key_period/key_offset: the P-frames at GOP positions 2, 4, ... after each I-frame
    (a drift-guard I-frame too) carry q + 9, clamped to 63, the rest q; the decoder
    follows each frame's quality, bit for bit."""
    from flavc_codec.io.reader import SourceInfo

    w = model_weights["flavc-light"]
    frames = synthetic_frames(47, 31, 7, seed=7)
    enc = Encoder("flavc-light", q, -1, "cpu", w, key_period=2, key_offset=9)
    assert enc.header(SourceInfo(47, 31, 30, 1, 7, "yuv420p", 1, 1, 1, 1)).quality == q
    dec = Decoder(enc.header(SourceInfo(47, 31, 30, 1, 7, "yuv420p", 1, 1, 1, 1)), "cpu", w)
    got = []
    for i, f in enumerate(frames):
        if i == 4:
            enc._i_psnr = 1000.0  # the guard recodes frame 4 as an I-frame, at q
        chunk, rec, _ = enc.encode(f)
        got.append(("IP"[chunk.frame_type], chunk.quality))
        for a, b in zip(dec.decode(chunk, i).planes, rec.planes, strict=True):
            np.testing.assert_array_equal(a, b)
    k = min(63, q + 9)
    assert got == [("I", q), ("P", q), ("P", k), ("P", q), ("I", q), ("P", q), ("P", k)]


def test_key_structure_defaults_to_the_weights_training(tmp_path):
    """Weights whose last stage trained key P-frames are encoded that way unless told
    otherwise; weights trained without (and bad metadata) code every frame at q."""
    import torch

    from flavc_codec.models.flavc import FLAVC, save_weights
    from flavc_codec.models.registry import get_variant

    torch.manual_seed(0)
    model = FLAVC(get_variant("flavc-light")).eval()
    model.update_tables()
    for i, (cfg, want) in enumerate(
        (
            ({"key_period": 4, "key_offset": 6}, (4, 6)),
            ({"key_period": 0, "key_offset": 6}, (0, 0)),
            ({"key_period": 4, "key_offset": 99}, (0, 0)),
            ({"key_period": "x"}, (0, 0)),
            ({}, (0, 0)),
        )
    ):
        path = tmp_path / f"k{i}.safetensors"
        save_weights(model, path, {"config": cfg})
        enc = Encoder("flavc-light", 20, 32, "cpu", path)
        assert (enc.key_period, enc.key_offset) == want
    enc = Encoder("flavc-light", 20, 32, "cpu", path, key_period=3, key_offset=-2)
    assert (enc.key_period, enc.key_offset) == (3, -2)


@pytest.mark.parametrize("kw", [{"key_period": -1}, {"key_offset": 64}, {"key_offset": -64}])
def test_key_structure_out_of_range(model_weights, kw):
    with pytest.raises(FlavcError, match="key"):
        Encoder("flavc-light", 20, 32, "cpu", model_weights["flavc-light"], **kw)


def test_drift_guard_out_of_range(model_weights):
    with pytest.raises(FlavcError, match="drift guard"):
        Encoder("flavc-light", 20, 32, "cpu", model_weights["flavc-light"], drift_guard=-1)


@pytest.mark.parametrize(
    "period,types",
    [(1, "IIII"), (2, "IPIP"), (3, "IPPI"), (-1, "IPPP")],
)
def test_intra_period_frame_types(make_clip, tmp_path, light_weights, period, types):
    src = make_clip(33, 17, n=4)
    stream = tmp_path / "s.flv"
    _encode(src, stream, light_weights, intra_period=period)
    with StreamReader(stream) as r:
        got = "".join("IP"[e.frame_type] for e in r.index)
        assert r.header.intra_period == period
        assert len(r) == 4
    assert got == types


def test_frames_limit(make_clip, tmp_path, light_weights):
    src = make_clip(33, 17, n=4)
    st = _encode(src, tmp_path / "s.flv", light_weights, frames=2)
    assert st.frames == 2
    with StreamReader(tmp_path / "s.flv") as r:
        assert len(r) == 2


# ---- argument and weights errors -----------------------------------------------------------


@pytest.mark.parametrize("q", [-1, 64, 1000])
def test_quality_out_of_range(make_clip, tmp_path, light_weights, q):
    with pytest.raises(FlavcError, match="quality"):
        Encoder("flavc-light", quality=q, device="cpu", weights=light_weights)
    src = make_clip(33, 17, n=2)
    dst = tmp_path / "s.flv"
    with pytest.raises(FlavcError):
        _encode(src, dst, light_weights, quality=q)
    assert not dst.exists() and not Path(str(dst) + ".part").exists()


@pytest.mark.parametrize("period", [0, -2, 65536])
def test_intra_period_out_of_range(light_weights, period):
    with pytest.raises(FlavcError, match="intra period"):
        Encoder("flavc-light", intra_period=period, device="cpu", weights=light_weights)


def test_weights_rewritten_in_place_are_loaded_again(tmp_path):
    """The model cache must not serve the old model (and write the old hash into the
    header) once a weights file is replaced, as a new export does."""
    path, h1 = build_weights(tmp_path, "flavc-light", seed=1)
    assert Encoder("flavc-light", 20, 32, "cpu", path).hash == h1
    st = path.stat()
    _, h2 = build_weights(tmp_path, "flavc-light", seed=2)  # same path, same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # written a ms later
    assert h2 != h1 and path.stat().st_size == st.st_size
    assert Encoder("flavc-light", 20, 32, "cpu", path).hash == h2


def test_model_and_weights_mismatch(light_weights, tmp_path):
    with pytest.raises(FlavcError, match="flavc-light"):
        Encoder("flavc", device="cpu", weights=light_weights)
    with pytest.raises(FlavcError, match="not found"):
        Encoder("flavc-light", device="cpu", weights=tmp_path / "missing.safetensors")
    with pytest.raises(FlavcError):
        Encoder("no-such-model", device="cpu", weights=light_weights)
    with pytest.raises(FlavcError):
        resolve_device("tpu")


def test_wrong_weights_hash(make_clip, tmp_path, model_weights):
    src = make_clip(33, 17, n=2)
    stream = tmp_path / "s.flv"
    _encode(src, stream, model_weights["flavc-light"])
    other, other_hash = build_weights(tmp_path / "other", "flavc-light", seed=1)
    assert other_hash != model_weights.hashes["flavc-light"]
    with pytest.raises(FlavcError) as ei:
        _decode(stream, tmp_path / "o.y4m", other)
    msg = _one_line(ei.value)
    assert "weights" in msg and model_weights.hashes["flavc-light"][:16] in msg
    assert "flavc-light" in msg
    assert not (tmp_path / "o.y4m").exists() or (tmp_path / "o.y4m").stat().st_size == 0
    with pytest.raises(FlavcError, match="weights"):
        _decode(stream, tmp_path / "o2.y4m")  # nothing anywhere


def test_weights_found_by_hash_in_env_folder(make_clip, tmp_path, model_weights, monkeypatch):
    src = make_clip(33, 17, n=2)
    stream, recon = tmp_path / "s.flv", tmp_path / "r.y4m"
    _encode(src, stream, model_weights["flavc-light"], recon=recon)
    other_dir = tmp_path / "other"
    build_weights(other_dir, "flavc-light", seed=2)
    monkeypatch.setenv(
        "FLAVC_WEIGHTS", os.pathsep.join([str(other_dir), str(model_weights.folder)])
    )
    _decode(stream, tmp_path / "o.y4m")
    assert (tmp_path / "o.y4m").read_bytes() == recon.read_bytes()
    # a single file in FLAVC_WEIGHTS works too
    monkeypatch.setenv("FLAVC_WEIGHTS", str(model_weights["flavc-light"]))
    _decode(stream, tmp_path / "o2.y4m")
    assert (tmp_path / "o2.y4m").read_bytes() == recon.read_bytes()


# ---- interrupted encode ------------------------------------------------------------------


@pytest.mark.parametrize("exc", [KeyboardInterrupt, RuntimeError])
def test_interrupted_encode_leaves_nothing(make_clip, tmp_path, light_weights, monkeypatch, exc):
    src = make_clip(33, 17, n=4)
    dst = tmp_path / "s.flv"
    real = Encoder.encode

    def flaky(self, frame):
        if self.index == 2:
            raise exc("stop")
        return real(self, frame)

    monkeypatch.setattr(Encoder, "encode", flaky)
    with pytest.raises(exc):
        _encode(src, dst, light_weights)
    assert not dst.exists()
    assert not Path(str(dst) + ".part").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [src.name]


def test_failed_encode_keeps_existing_output(make_clip, tmp_path, light_weights, monkeypatch):
    src = make_clip(33, 17, n=3)
    dst = tmp_path / "s.flv"
    dst.write_bytes(b"previous")

    def boom(self, frame):
        raise KeyboardInterrupt

    monkeypatch.setattr(Encoder, "encode", boom)
    with pytest.raises(KeyboardInterrupt):
        _encode(src, dst, light_weights)
    assert dst.read_bytes() == b"previous"
    assert not Path(str(dst) + ".part").exists()


def test_encode_bad_input(tmp_path, light_weights):
    bad = tmp_path / "notavideo.mp4"
    bad.write_text("this is not a video\n")
    dst = tmp_path / "s.flv"
    with pytest.raises(FlavcError) as ei:
        _encode(bad, dst, light_weights)
    _one_line(ei.value)
    assert not dst.exists() and not Path(str(dst) + ".part").exists()
    with pytest.raises(FlavcError):
        _encode(tmp_path / "missing.y4m", dst, light_weights)


# ---- damaged streams ---------------------------------------------------------------------


@pytest.fixture
def stream3(make_clip, tmp_path, light_weights):
    src = make_clip(33, 17, n=3)
    stream = tmp_path / "s.flv"
    _encode(src, stream, light_weights, intra_period=2)
    return stream


def test_truncated_streams(stream3, tmp_path, light_weights):
    data = stream3.read_bytes()
    cut = tmp_path / "cut.flv"
    for n in sorted(
        {0, 1, 7, 16, 40, len(data) // 3, len(data) // 2, len(data) - 20, len(data) - 1}
    ):
        cut.write_bytes(data[:n])
        with pytest.raises(FlavcError) as ei:
            _decode(cut, tmp_path / "o.y4m", light_weights)
        _one_line(ei.value)


def test_bit_flipped_streams(stream3, tmp_path, light_weights):
    data = stream3.read_bytes()
    rng = np.random.default_rng(0)
    bad = tmp_path / "bad.flv"
    positions = list(range(0, len(data), max(1, len(data) // 40))) + [len(data) - 1]
    for pos in positions:
        b = bytearray(data)
        b[pos] ^= 1 << int(rng.integers(0, 8))
        bad.write_bytes(bytes(b))
        try:
            _decode(bad, tmp_path / "o.y4m", light_weights)
        except FlavcError as exc:
            _one_line(exc)
        # else: a flip in a field that does not matter (e.g. reserved colour value)


def _rewrite(stream: Path, dst: Path, edit, major: int = 3, flags: int | None = None) -> Path:
    """Copy a stream, passing every chunk through ``edit(i, chunk) -> chunk`` (valid CRCs);
    ``flags`` replaces the header flags."""
    with StreamReader(stream) as r:
        header = r.header
        chunks = [r.read_frame(i) for i in range(len(r))]
    if flags is not None:
        header = dataclasses.replace(header, flags=flags)
    with StreamWriter(dst, header, major=major) as w:
        for i, c in enumerate(chunks):
            w.write_frame(edit(i, c))
    return dst


def test_older_containers_decode_the_same(stream3, tmp_path, light_weights):
    """The same coded frames in a 2.1 container (the 132 fixed bytes before 3.0) and a
    1.0 one (the first releases' layout: 40 bytes per frame plus 4 per section) decode to
    exactly the same pictures as in the 3.0 container written now."""
    from flavc_codec.io import open_video

    v1 = _rewrite(stream3, tmp_path / "v1.flv", lambda i, c: c, major=1)
    v2 = _rewrite(stream3, tmp_path / "v2.flv", lambda i, c: c, major=2)
    with StreamReader(stream3) as r3, StreamReader(v2) as r2, StreamReader(v1) as r1:
        assert (r3.version, r2.version, r1.version) == ((3, 0), (2, 1), (1, 0))
        assert list(r1) == list(r2) == list(r3)
        assert r1.header == r2.header == r3.header
        v2_framing = sum(len(e.pack_v2()) for e in r3.index)  # 7-11 bytes each
        v1_framing = sum(40 + 4 * len(e.section_lens) for e in r3.index)
        fixed3 = r3.data_offset + 16  # header and trailer; the 3.0 index has no head
    assert v1.stat().st_size - v2.stat().st_size == v1_framing - v2_framing
    assert v2.stat().st_size - stream3.stat().st_size == 132 - fixed3
    outs = []
    for s in (stream3, v2, v1):
        _decode(s, tmp_path / f"{s.stem}.y4m", light_weights)
        with open_video(str(tmp_path / f"{s.stem}.y4m")) as src:
            outs.append([f.planes for f in src])
    for older in outs[1:]:
        for a, b in zip(outs[0], older, strict=True):
            for pa, pb in zip(a, b, strict=True):
                np.testing.assert_array_equal(pa, pb)


def test_garbage_payload_with_valid_crc(stream3, tmp_path, light_weights):
    """Entropy-coded garbage that passes the container checks: an error or some output,
    never a crash or a non-Flavc exception."""
    rng = np.random.default_rng(1)
    for trial in range(6):

        def edit(i, c, trial=trial):
            secs = list(c.sections)
            k = trial % len(secs)
            n = max(4, len(secs[k]) // 4 * 4 if trial < 4 else 4 * int(rng.integers(1, 50)))
            junk = bytearray(rng.integers(0, 256, n, dtype=np.uint8).tobytes())
            junk[-1] |= 0x80  # never a zero last word
            secs[k] = bytes(junk)
            return FrameChunk(c.frame_type, c.quality, tuple(secs))

        bad = _rewrite(stream3, tmp_path / f"g{trial}.flv", edit)
        out = tmp_path / f"g{trial}.y4m"
        try:
            st = _decode(bad, out, light_weights)
        except FlavcError as exc:
            _one_line(exc)
        else:
            assert st.frames == 3


def test_zero_last_word_section(stream3, tmp_path, light_weights):
    """A rANS section (streams without FLAG_RANGE_CODER) never ends in a zero word."""
    from flavc_codec.bitstream import FLAG_ONE_STREAM, FLAG_PAD16

    def edit(i, c):
        return FrameChunk(c.frame_type, c.quality, (b"\x05\0\0\0\0\0\0\0", *c.sections[1:]))

    bad = _rewrite(stream3, tmp_path / "z.flv", edit, flags=FLAG_PAD16 | FLAG_ONE_STREAM)
    with pytest.raises(FlavcError):
        _decode(bad, tmp_path / "z.y4m", light_weights)


def test_structurally_wrong_chunks(stream3, tmp_path, light_weights):
    two = _rewrite(stream3, tmp_path / "two.flv",
                   lambda i, c: FrameChunk(c.frame_type, c.quality, c.sections * 2))  # fmt: skip
    with pytest.raises(FlavcError, match="frame 0: expected 1 payload section, found 2"):
        _decode(two, tmp_path / "o.y4m", light_weights)
    p0 = _rewrite(stream3, tmp_path / "p0.flv",
                  lambda i, c: FrameChunk(FRAME_P, c.quality, c.sections))  # fmt: skip
    with pytest.raises(FlavcError, match="frame 0: P-frame without a reference"):
        _decode(p0, tmp_path / "o.y4m", light_weights)


# ---- header flags: FLAG_PAD16 | FLAG_ONE_STREAM | FLAG_RANGE_CODER (default), and the
# ---- streams of earlier encoders (without the range coder; FLAG_PAD16 alone; no flags) ---


@pytest.mark.parametrize("kind", ["default", "rans", "pad16-only", "pad64"])
def test_padding_flag_roundtrip_and_latent_grid(model_weights, kind):
    """176x144 (QCIF) is a multiple of 16 but not of 64: with FLAG_PAD16 the latent grid
    is 9x11 (the picture), in a 64-padded stream 12x12 (a third of it over padding). With
    FLAG_ONE_STREAM each frame is one section, else two. All decode to the encoder's
    reconstruction, bit for bit."""
    from flavc_codec.bitstream import FLAG_ONE_STREAM, FLAG_PAD16, FLAG_RANGE_CODER
    from flavc_codec.io.reader import SourceInfo

    w, h, n = 176, 144, 3
    wts = model_weights["flavc-light"]
    enc = Encoder("flavc-light", quality=30, intra_period=2, device="cpu", weights=wts,
                  pad64=kind == "pad64")  # fmt: skip
    old = {"rans": FLAG_PAD16 | FLAG_ONE_STREAM, "pad16-only": FLAG_PAD16}
    if kind in old:  # what the encoder wrote before FLAG_RANGE_CODER, FLAG_ONE_STREAM
        enc.flags = old[kind]
    header = enc.header(SourceInfo(w, h, 30, 1, n, "yuv420p", 1, 1, 1, 1))
    flags = {"default": FLAG_PAD16 | FLAG_ONE_STREAM | FLAG_RANGE_CODER, "pad64": 0, **old}
    assert header.flags == flags[kind]
    dec = Decoder(header, device="cpu", weights=wts)
    assert dec.latent_hw == ((12, 12) if kind == "pad64" else (9, 11))
    for i, f in enumerate(synthetic_frames(w, h, n, seed=7)):
        chunk, rec, _ = enc.encode(f)
        assert len(chunk.sections) == (1 if kind in ("default", "rans") else 2)
        got = dec.decode(chunk, i)
        for a, b in zip(got.planes, rec.planes, strict=True):
            np.testing.assert_array_equal(a, b)


def test_one_stream_is_smaller_and_codes_the_same_symbols(model_weights):
    """One rANS stream per frame instead of (z, y): the same reconstruction and estimate,
    fewer bytes (one flushed coder state less)."""
    from flavc_codec.bitstream import FLAG_ONE_STREAM, FLAG_RANGE_CODER

    wts = model_weights["flavc-light"]
    frames = synthetic_frames(176, 144, 4, seed=9)
    a = Encoder("flavc-light", quality=5, intra_period=-1, device="cpu", weights=wts)
    b = Encoder("flavc-light", quality=5, intra_period=-1, device="cpu", weights=wts)
    a.flags &= ~FLAG_RANGE_CODER
    b.flags &= ~(FLAG_ONE_STREAM | FLAG_RANGE_CODER)
    saved = 0
    for f in frames:
        (ca, ra, ea), (cb, rb, eb) = a.encode(f), b.encode(f)
        assert ea == eb and len(ca.sections) == 1 and len(cb.sections) == 2
        for pa, pb in zip(ra.planes, rb.planes, strict=True):
            np.testing.assert_array_equal(pa, pb)
        saved += cb.payload_size - ca.payload_size
    assert saved >= 4 * len(frames)


def test_range_coder_is_smaller_and_codes_the_same_symbols(model_weights, tmp_path):
    """FLAG_RANGE_CODER against the rANS stream of the same symbols: the same
    reconstruction and estimate, about 4 bytes less per frame (the rANS stream ends in a
    flushed state in whole words, the range coder at byte granularity), and a stream of
    either kind decodes to the encoder's reconstruction."""
    from flavc_codec.bitstream import FLAG_RANGE_CODER
    from flavc_codec.io.reader import SourceInfo

    wts = model_weights["flavc-light"]
    frames = synthetic_frames(65, 33, 6, seed=11)
    a = Encoder("flavc-light", quality=3, intra_period=3, device="cpu", weights=wts)
    b = Encoder("flavc-light", quality=3, intra_period=3, device="cpu", weights=wts)
    b.flags &= ~FLAG_RANGE_CODER
    info = SourceInfo(65, 33, 30, 1, len(frames), "yuv420p", 1, 1, 1, 1)
    da = Decoder(a.header(info), device="cpu", weights=wts)
    db = Decoder(b.header(info), device="cpu", weights=wts)
    saved = []
    for i, f in enumerate(frames):
        (ca, ra, ea), (cb, rb, eb) = a.encode(f), b.encode(f)
        assert ea == eb and ca.frame_type == cb.frame_type
        for pa, pb, qa, qb in zip(
            ra.planes, rb.planes, da.decode(ca, i).planes, db.decode(cb, i).planes, strict=True
        ):
            np.testing.assert_array_equal(pa, pb)
            np.testing.assert_array_equal(qa, pa)
            np.testing.assert_array_equal(qb, pb)
        assert len(cb.sections[0]) % 4 == 0
        saved.append(cb.payload_size - ca.payload_size)
    assert sum(saved) >= 2 * len(frames), saved


def test_pad16_codes_fewer_latents(model_weights):
    """Same frame, same quality: the 16-padded frame codes 9x11 latents instead of 12x12,
    so its estimate (the integer model's ideal size) is below the 64-padded one's."""
    wts = model_weights["flavc-light"]
    f = synthetic_frames(176, 144, 1, seed=8)[0]
    e16 = Encoder("flavc-light", quality=30, device="cpu", weights=wts)
    e64 = Encoder("flavc-light", quality=30, device="cpu", weights=wts, pad64=True)
    (c16, _, est16), (c64, _, est64) = e16.encode(f), e64.encode(f)
    assert c16.sections != c64.sections
    assert est16 < est64


def test_unknown_header_flags_refused(model_weights):
    from flavc_codec.io.reader import SourceInfo

    wts = model_weights["flavc-light"]
    enc = Encoder("flavc-light", device="cpu", weights=wts)
    header = enc.header(SourceInfo(33, 17, 30, 1, 1, "yuv420p", 1, 1, 1, 1))
    bad = type(header)(**{**header.__dict__, "flags": header.flags | 0x8})
    with pytest.raises(FlavcError, match="unknown flags 0x8") as ei:
        Decoder(bad, device="cpu", weights=wts)
    _one_line(ei.value)


# ---- statistics -------------------------------------------------------------------------


def test_encode_stats(make_clip, tmp_path, light_weights):
    src = make_clip(128, 128, n=3)
    stream = tmp_path / "s.flv"
    st = _encode(src, stream, light_weights, intra_period=2)
    size = stream.stat().st_size
    assert st.bytes == size
    assert st.frames == 3 and (st.width, st.height) == (128, 128)
    assert st.bpp == pytest.approx(size * 8 / (128 * 128 * 3))
    assert st.estimated_bits > 0
    assert abs(st.payload_bytes - st.estimated_bits / 8) <= 0.01 * st.estimated_bits / 8 + 64
    assert len(st.frame_bytes) == 3 and sum(st.frame_bytes) < size
    # container 3.0: frame data is the bare sections; the header (preamble, 39-byte body
    # for this clip, CRC) + trailer 16, and per frame an index entry of 2 bytes + ULEB128
    # section lengths + CRC 4
    assert st.payload_bytes == sum(st.frame_bytes)
    with StreamReader(stream) as r:
        fixed = r.data_offset + 16
        assert r.version == (3, 0) and fixed == 11 + 39 + 4 + 16
    assert fixed + 3 * 7 <= size - st.payload_bytes <= fixed + 3 * 12
    for v in (st.psnr_y, st.psnr_u, st.psnr_v, st.psnr_yuv):
        assert math.isfinite(v) and v > 0
    assert st.psnr_yuv == pytest.approx((6 * st.psnr_y + st.psnr_u + st.psnr_v) / 8, rel=0.2)
    assert st.seconds > 0 and st.fps > 0
    assert st.kbps == pytest.approx(size * 8 / 1000 / (3 / 25))
    d = st.as_dict()
    for k in ("bpp", "fps", "kbps", "bytes", "psnr_yuv", "estimated_bits", "payload_bytes"):
        assert k in d
    assert {"entropy", "network"} <= set(st.timings)
    with StreamReader(stream) as r:
        assert [e.nbytes for e in r.index] == st.frame_bytes
