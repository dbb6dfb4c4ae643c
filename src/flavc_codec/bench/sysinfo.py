"""Machine, version and memory facts for benchmark reports (torch imported lazily)."""

from __future__ import annotations

import os
import platform
import resource
import sys

__all__ = ["PeakMemory", "machine_info", "versions"]


def _status_kb(key: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class PeakMemory:
    """Peak resident set size of *this process* over a block of code.

    On Linux the kernel's high-water mark (VmHWM) is reset by writing ``5`` to
    ``/proc/self/clear_refs`` before the block and read after it, so ``peak_mb`` is the
    process's peak RSS during the block (it includes what was already resident: the
    interpreter, imported libraries such as torch, the source frames held in memory).
    ``delta_mb`` = peak minus the RSS at the start of the block. Where the reset is not
    possible, ``peak_mb`` falls back to ``ru_maxrss`` (peak over the process lifetime) and
    ``method`` says so.
    """

    def __init__(self) -> None:
        self.peak_mb: float | None = None
        self.delta_mb: float | None = None
        self.method = "unknown"
        self._start_kb: int | None = None

    def __enter__(self) -> PeakMemory:
        self._start_kb = _status_kb("VmRSS")
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
            self.method = "VmHWM after clear_refs reset (process peak RSS during the run)"
        except OSError:
            self.method = "ru_maxrss (process lifetime peak RSS; reset not available)"
        return self

    def __exit__(self, *exc) -> None:
        hwm = _status_kb("VmHWM") if self.method.startswith("VmHWM") else None
        if hwm is None:
            hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux
        self.peak_mb = round(hwm / 1024.0, 1)
        if self._start_kb is not None:
            self.delta_mb = round(max(0, hwm - self._start_kb) / 1024.0, 1)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(with_torch: bool = True) -> dict:
    info = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "affinity_cores": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else None,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "gpu": None,
    }
    if with_torch:
        try:
            import torch

            if torch.cuda.is_available():
                info["gpu"] = torch.cuda.get_device_name(0)
            info["torch_threads"] = torch.get_num_threads()
        except Exception as exc:  # pragma: no cover - environment dependent
            info["gpu_error"] = str(exc)
    return info


def versions(with_torch: bool = True) -> dict:
    from .. import __version__

    out: dict = {"flavc": __version__, "numpy": None, "torch": None, "av": None}
    import numpy

    out["numpy"] = numpy.__version__
    try:
        import av

        out["av"] = av.__version__
        out["ffmpeg_libraries"] = {k: ".".join(map(str, v)) for k, v in av.library_versions.items()}
        encs = {}
        for name in ("libx264", "libx265", "libsvtav1"):
            try:
                encs[name] = av.codec.Codec(name, "w").long_name
            except Exception as exc:
                encs[name] = f"unavailable: {exc}"
        out["encoders"] = encs
    except Exception as exc:  # pragma: no cover
        out["av_error"] = str(exc)
    if with_torch:
        try:
            import torch

            out["torch"] = torch.__version__
        except Exception as exc:  # pragma: no cover
            out["torch_error"] = str(exc)
    for mod in ("scipy", "pytorch_msssim"):
        try:
            m = __import__(mod)
            out[mod] = getattr(m, "__version__", "unknown")
        except Exception:
            out[mod] = None
    return out
