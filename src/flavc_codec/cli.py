"""The ``flavc`` command line. torch is imported only inside commands that need it, so
``flavc --help`` and ``flavc info`` answer instantly."""

from __future__ import annotations

import json
import os
import sys

import click

from . import __version__
from .bitstream.format import MAX_QUALITY  # standard library only: no torch at import
from .errors import FlavcError

MODELS = ["flavc", "flavc-light", "no-dp", "cnn-encoder", "memc"]
# Encoder effort, shared by `encode` and `bench` (codec.MAX_REFINE is the same bound).
REFINE_OPTION = click.option(
    "--refine",
    type=click.IntRange(0, 1000),
    default=0,
    show_default=True,
    help="encoder effort: N gradient steps per P-frame on its latent (smaller streams at "
    "the same quality, about N synthesis backward passes per frame; any decoder reads "
    "them); I-frames: see --refine-intra",
)
# I-frame refinement; the default (None) is max(--refine, codec.DEFAULT_REFINE_INTRA), which
# the help repeats so that --help needs no torch (a test pins the two equal).
REFINE_INTRA_OPTION = click.option(
    "--refine-intra",
    type=click.IntRange(0, 1000),
    default=None,
    help="encoder effort on I-frames: N gradient steps per I-frame [default: the larger "
    "of --refine and 10; 0 = plain rounding everywhere with --refine 0]",
)
# The encoder's drift guard, shared by `encode` and `bench` (codec.DRIFT_GUARD_DB is the
# same default; not imported here, so that --help needs no torch).
DRIFT_GUARD_OPTION = click.option(
    "--drift-guard",
    type=click.FloatRange(0.0, 100.0),
    default=3.0,
    show_default=True,
    help="dB: a P-frame this far below the last I-frame's PSNR-YUV is coded as an I-frame "
    "instead (stops error propagation from diverging); 0 = off",
)

# Hierarchical quality in low delay, shared by `encode` and `bench`; the defaults (None)
# come from the weights (models.flavc.FLAVC.key_structure), so --help needs no torch.
KEY_PERIOD_OPTION = click.option(
    "--key-period",
    type=click.IntRange(0, 65535),
    default=None,
    help="code every N-th P-frame after an I-frame at quality + --key-offset (a better "
    "reference for the frames after it; 0 = off) [default: as the weights were trained, "
    "off for weights trained without]",
)
KEY_OFFSET_OPTION = click.option(
    "--key-offset",
    type=click.IntRange(-MAX_QUALITY, MAX_QUALITY),
    default=None,
    help=f"quality offset of the key P-frames (clamped to 0..{MAX_QUALITY}) "
    "[default: as the weights were trained]",
)


class FlavcGroup(click.Group):
    """Turns user errors into one ``error:`` line and a non-zero exit, never a traceback
    (set FLAVC_DEBUG=1 to see one)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except FlavcError as exc:
            _fail(str(exc))
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except BrokenPipeError:
            try:
                sys.stdout = open(os.devnull, "w")  # noqa: SIM115
            except OSError:
                pass
            sys.exit(1)
        except MemoryError:
            _fail("out of memory")
        except Exception as exc:
            if os.environ.get("FLAVC_DEBUG"):
                raise
            msg = str(exc).splitlines()[0] if str(exc) else ""
            _fail(f"{exc.__class__.__name__}: {msg} (set FLAVC_DEBUG=1 for a traceback)")


def _fail(msg: str, code: int = 1):
    click.echo(f"error: {msg}", err=True)
    sys.exit(code)


def _threads(n: int | None) -> None:
    if n:
        import torch

        torch.set_num_threads(n)


@click.group(cls=FlavcGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="flavc")
def main():
    """flavc: learned video compression with feature-level attention (FLAVC, CVPR 2025).

    \b
    flavc encode input.mp4 out.flv      encode any video FFmpeg reads
    flavc decode out.flv recon.y4m      decode to .y4m, .mp4, .mkv or - (y4m on stdout)
    flavc info out.flv                  stream header and frames (no torch, instant)
    flavc demo                          encode + decode a generated clip, print bpp/PSNR/fps
    flavc bench clip.mp4 ...            rate-distortion, speed and memory vs x264/x265/AV1
    flavc train CONFIG.json             train or fine-tune (see docs/TRAINING.md)
    """


@main.command()
@click.argument("input", type=click.Path(dir_okay=False))
@click.argument("output", type=click.Path(dir_okay=False, writable=True))
@click.option(
    "-q",
    "--quality",
    type=click.IntRange(0, MAX_QUALITY),
    default=32,
    show_default=True,
    help=f"0 (smallest) .. {MAX_QUALITY} (best)",
)
@click.option(
    "--intra-period",
    type=int,
    default=32,
    show_default=True,
    help="frames between I-frames; -1 = only the first",
)
@click.option("--frames", type=click.IntRange(min=1), default=None, help="encode at most N frames")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N")
@click.option("--model", type=click.Choice(MODELS), default="flavc", show_default=True)
@click.option(
    "--weights",
    type=click.Path(dir_okay=False),
    default=None,
    help="weights file (default: the shipped weights of --model)",
)
@REFINE_OPTION
@REFINE_INTRA_OPTION
@DRIFT_GUARD_OPTION
@KEY_PERIOD_OPTION
@KEY_OFFSET_OPTION
@click.option("--threads", type=int, default=None, help="CPU threads")
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
@click.option("--quiet", is_flag=True, help="no progress bar")
def encode(
    input,
    output,
    quality,
    intra_period,
    frames,
    device,
    model,
    weights,
    refine,
    refine_intra,
    drift_guard,
    key_period,
    key_offset,
    threads,
    as_json,
    quiet,
):
    """Encode INPUT (any video PyAV reads, or - for a stream on stdin) into OUTPUT."""
    if input != "-" and not os.path.exists(input):
        raise FlavcError(f"{input}: no such file")
    if intra_period != -1 and not 1 <= intra_period <= 65535:
        raise FlavcError("--intra-period must be -1 or 1..65535")
    _threads(threads)
    from .codec import encode_file

    st = encode_file(
        input,
        output,
        quality=quality,
        intra_period=intra_period,
        frames=frames,
        device=device,
        model=model,
        progress=not quiet,
        weights=weights,
        refine=refine,
        refine_intra=refine_intra,
        drift_guard=drift_guard,
        key_period=key_period,
        key_offset=key_offset,
    )
    if as_json:
        click.echo(json.dumps(st.as_dict(), indent=1))
        return
    click.echo(
        f"{st.frames} frames {st.width}x{st.height}, {st.bytes} bytes, {st.bpp:.4f} bpp, "
        f"{st.kbps:.1f} kbit/s, PSNR-YUV {st.psnr_yuv:.2f} dB "
        f"(Y {st.psnr_y:.2f} U {st.psnr_u:.2f} V {st.psnr_v:.2f}), "
        f"{st.seconds:.1f} s ({st.fps:.2f} fps)"
    )


@main.command()
@click.argument("input", type=click.Path(dir_okay=False))
@click.argument("output", default="-")
@click.option("--device", default="auto", show_default=True)
@click.option("--weights", type=click.Path(dir_okay=False), default=None)
@click.option("--threads", type=int, default=None, help="CPU threads")
@click.option("--quiet", is_flag=True, help="no progress bar")
def decode(input, output, device, weights, threads, quiet):
    """Decode INPUT to OUTPUT: .y4m, .mp4, .mkv, or - for y4m on stdout."""
    if not os.path.exists(input):
        raise FlavcError(f"{input}: no such file")
    _threads(threads)
    from .codec import decode_file

    st = decode_file(
        input, output, device=device, progress=not quiet and output != "-", weights=weights
    )
    if output != "-":
        click.echo(
            f"{st.frames} frames {st.width}x{st.height} -> {output} "
            f"({st.seconds:.1f} s, {st.fps:.2f} fps)"
        )


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.option("--frames", "frames", is_flag=True, help="list every frame")
@click.option("--verify", is_flag=True, help="also check every frame's CRC")
def info(file, as_json, frames, verify):
    """Show a stream's header and frames (does not load torch)."""
    from .bitstream import format_info, inspect

    if not os.path.exists(file):
        raise FlavcError(f"{file}: no such file")
    d = inspect(file, frames=frames, verify=verify)
    click.echo(json.dumps(d, indent=1) if as_json else format_info(d))


@main.command()
@click.option(
    "--model", type=click.Choice(["flavc", "flavc-light"]), default="flavc-light", show_default=True
)
@click.option("-q", "--quality", type=click.IntRange(0, MAX_QUALITY), default=32, show_default=True)
@click.option("--size", default="320x192", show_default=True, help="WxH of the generated clip")
@click.option("--frames", type=click.IntRange(1, 1000), default=12, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option(
    "--keep",
    type=click.Path(file_okay=False),
    default=None,
    help="keep the clip, stream and reconstruction in this folder",
)
def demo(model, quality, size, frames, device, keep):
    """Encode and decode a generated clip with the shipped weights; print bpp, PSNR, fps."""
    import tempfile

    from .demo import run_demo

    try:
        w, h = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise FlavcError(f"--size must be WxH, got '{size}'") from None
    with tempfile.TemporaryDirectory() as tmp:
        r = run_demo(keep or tmp, w, h, frames, model, quality, device)
    click.echo(r)


@main.command(context_settings={"ignore_unknown_options": False})
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--frames", type=int, default=96, show_default=True)
@click.option("--intra-period", type=int, default=32, show_default=True)
@click.option(
    "--qualities", default=None, help="comma-separated flavc qualities (default: a spread)"
)
@click.option("--anchors", default="x264,x265,svtav1", show_default=True)
@click.option(
    "--preset", type=click.Choice(["medium", "veryslow"]), default="medium", show_default=True
)
@click.option("--device", default="auto", show_default=True)
@click.option("--model", type=click.Choice(MODELS), default="flavc", show_default=True)
@click.option(
    "--weights",
    type=click.Path(dir_okay=False),
    default=None,
    help="weights file for flavc (default: the shipped ones), e.g. from flavc train",
)
@REFINE_OPTION
@REFINE_INTRA_OPTION
@DRIFT_GUARD_OPTION
@KEY_PERIOD_OPTION
@KEY_OFFSET_OPTION
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None)
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None)
def bench(
    inputs,
    frames,
    intra_period,
    qualities,
    anchors,
    preset,
    device,
    model,
    weights,
    refine,
    refine_intra,
    drift_guard,
    key_period,
    key_offset,
    json_path,
    plot_path,
):
    """Rate-distortion, speed and memory of flavc vs x264, x265 and SVT-AV1, side by side."""
    for p in (*inputs, *([weights] if weights else [])):
        if not os.path.exists(p):
            raise FlavcError(f"{p}: no such file")
    from .bench.run import format_markdown, run_bench

    qs = [int(v) for v in qualities.split(",")] if qualities else None
    an = [a.strip() for a in anchors.split(",") if a.strip()]
    res = run_bench(
        list(inputs),
        frames=frames,
        intra_period=intra_period,
        qualities=qs,
        anchors=an,
        preset=preset,
        device=device,
        model=model,
        weights=weights,
        refine=refine,
        refine_intra=refine_intra,
        drift_guard=drift_guard,
        key_period=key_period,
        key_offset=key_offset,
        json_path=json_path,
        plot_path=plot_path,
    )
    click.echo(format_markdown(res))


@main.command()
@click.argument("config", type=click.Path(dir_okay=False), required=False)
@click.option("--stage", type=click.Choice(["intra", "inter", "joint"]), default=None)
@click.option("--variant", type=click.Choice(MODELS), default=None)
@click.option("--data", multiple=True, help="cache .npy, Vimeo-90K root or video/image folder")
@click.option("--steps", type=int, default=None)
@click.option("--batch", type=int, default=None)
@click.option("--out", default=None, help="run folder (checkpoints, log, curves, weights)")
@click.option("--init", default=None, help="weights or checkpoint to start from")
@click.option("--device", default=None)
@click.option("--threads", type=int, default=None)
@click.option(
    "--seed",
    type=int,
    default=None,
    help="overrides the config's seed (another seed draws other batches and qualities)",
)
@click.option(
    "--cache-size",
    type=click.IntRange(min=1),
    default=2000,
    show_default=True,
    help="sequences to pre-extract when --data is a folder of videos/images",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="minutes; then checkpoint and stop (rerun to resume)",
)
def train(
    config,
    stage,
    variant,
    data,
    steps,
    batch,
    out,
    init,
    device,
    threads,
    seed,
    cache_size,
    time_limit,
):
    """Train one stage (resumable). CONFIG defaults to the stage's shipped config."""
    from .train.cli import run_train

    path = run_train(
        config,
        stage=stage,
        variant=variant,
        data=list(data) or None,
        steps=steps,
        batch=batch,
        out=out,
        init=init,
        device=device,
        threads=threads,
        seed=seed,
        cache_size=cache_size,
        time_limit=time_limit,
    )
    click.echo(f"weights: {path}")


if __name__ == "__main__":
    main()
