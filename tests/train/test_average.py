"""Weight averaging (``flavc_codec.train.average``): the floats are the weighted mean,
the integer tables are rebuilt from them (never averaged), the averaged weights code a
clip that decodes bit for bit, and bad input is one error line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from clips import synthetic_frames, write_clip  # noqa: E402

from flavc_codec.codec import decode_file, encode_file  # noqa: E402
from flavc_codec.errors import FlavcError  # noqa: E402
from flavc_codec.models.flavc import FLAVC, load_weights, save_weights  # noqa: E402
from flavc_codec.models.registry import get_variant  # noqa: E402
from flavc_codec.train.average import average_weights, main, run_config  # noqa: E402

VARIANT = "flavc-light"


def _weights(path: Path, seed: int, noise: float, lam=(50.0, 3200.0), variant=VARIANT) -> Path:
    """Random-init weights, every float parameter moved by seeded noise (so the entropy
    models, hence their tables, differ between seeds), with a recipe giving the lambdas."""
    torch.manual_seed(seed)
    model = FLAVC(get_variant(variant)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(noise * torch.randn_like(p))
    model.update_tables()
    save_weights(model, path, {"config": {"lambda_min": lam[0], "lambda_max": lam[1]}})
    return path


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("avg")
    return _weights(d / "a.safetensors", 0, 0.0), _weights(d / "b.safetensors", 1, 0.05)


def test_floats_are_the_weighted_mean_and_tables_are_rebuilt(pair, tmp_path):
    a, b = (load_weights(p).state_dict() for p in pair)
    model, mix = average_weights(list(pair), [3, 1])
    assert mix == [0.75, 0.25]
    got = model.state_dict()
    params = {k for k, _ in model.named_parameters()}
    tables = [k for k in got if k not in params]  # integer and float tables (gains)
    assert params and any(not got[k].is_floating_point() for k in tables)
    for k in params:
        want = (0.75 * a[k].double() + 0.25 * b[k].double()).to(got[k].dtype)
        assert torch.equal(got[k], want), k
    # the tables are those of the averaged parameters, built afresh (averaged tables would
    # differ: the gains' are exponentials, the integer ones rounded)
    mean = {k: (0.75 * a[k].double() + 0.25 * b[k].double()).to(a[k].dtype) for k in got}
    fresh = FLAVC(get_variant(VARIANT)).eval()
    fresh.load_state_dict(mean)
    fresh.update_tables()
    ref = fresh.state_dict()
    for k in tables:
        assert torch.equal(got[k], ref[k]), k
    assert any(not torch.equal(got[k], mean[k]) for k in tables)
    assert any(not torch.equal(got[k], a[k]) for k in tables)
    assert model.lambda_range == (50.0, 3200.0)


def test_averaging_weights_with_themselves_keeps_their_parameters(pair):
    w = load_weights(pair[1])
    model = average_weights([pair[1], pair[1], pair[1]])[0]
    got = model.state_dict()
    for k, v in w.named_parameters():
        assert torch.equal(got[k], v), k


def test_averaged_weights_code_a_clip_that_decodes_exactly(pair, tmp_path):
    cfg = {"variant": VARIANT, "average": [str(p) for p in pair], "mix": [1, 1],
           "out": str(tmp_path / "run")}  # fmt: skip
    (tmp_path / "soup.json").write_text(json.dumps(cfg))
    w = run_config(tmp_path / "soup.json")
    rec = json.loads((tmp_path / "run" / "weights.json").read_text())
    assert [e["mix"] for e in rec["recipe"]["average"]] == [0.5, 0.5]
    assert load_weights(w).lambda_range == (50.0, 3200.0)
    src = tmp_path / "in.y4m"
    write_clip(src, synthetic_frames(33, 17, 3))
    kw = {"device": "cpu", "progress": False}
    stream, recon, out = tmp_path / "s.flv", tmp_path / "enc.y4m", tmp_path / "dec.y4m"
    encode_file(str(src), str(stream), model=VARIANT, weights=w, recon=str(recon), **kw)
    decode_file(str(stream), str(out), weights=w, **kw)
    assert out.read_bytes() == recon.read_bytes()


def test_bad_input_is_one_error_line(pair, tmp_path, capsys):
    other = _weights(tmp_path / "c.safetensors", 2, 0.0, lam=(50.0, 1600.0))
    with pytest.raises(FlavcError, match="lambdas"):
        average_weights([pair[0], other])
    full = _weights(tmp_path / "d.safetensors", 3, 0.0, variant="flavc")
    with pytest.raises(FlavcError, match="variant"):
        average_weights([pair[0], full])
    with pytest.raises(FlavcError, match="at least two"):
        average_weights([pair[0]])
    for argv in (
        [str(pair[0]), str(pair[1]), "--out", str(tmp_path / "x.safetensors"), "--mix", "1"],
        [str(pair[0]), str(tmp_path / "missing.safetensors"), "--out", str(tmp_path / "y")],
        [str(pair[0]), str(pair[1])],
    ):
        assert main(argv) == 1
        out = capsys.readouterr().out
        assert out.startswith("error: ") and out.count("\n") == 1, out


def test_out_in_a_new_folder_is_created(pair, tmp_path, capsys):
    out = tmp_path / "new" / "dir" / "soup.safetensors"
    assert main([str(pair[0]), str(pair[1]), "--out", str(out)]) == 0
    assert load_weights(out).cfg.name == VARIANT
    assert json.loads(capsys.readouterr().out)["out"] == str(out)
