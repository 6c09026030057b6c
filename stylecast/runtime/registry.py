"""Runtime names, auto-selection and the ``doctor`` report.

Every runtime is a class in ``RUNTIMES``; nothing else in stylecast branches on runtime
names. "auto" walks ``AUTO_ORDER``, logs one line per runtime it passes over and, when
none opens, raises one error listing every reason. A runtime this machine lacks (no
TensorRT, no CUDA device) is passed over at debug level: on a laptop that is the expected
path, not news, and ``stylecast doctor`` and ``--verbose`` show it. A runtime that is
present but fails to build its engine is a fault, logged as a warning. An explicitly named
runtime never falls back, and a requested precision is never downgraded: a runtime that
cannot deliver it is unavailable.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stylecast.errors import BackendUnavailable, ConfigError, EngineBuildError
from stylecast.runtime.base import PRECISIONS, Runtime

if TYPE_CHECKING:
    from stylecast.model.network import StyleNetwork
    from stylecast.model.packnet import PackNetwork

logger = logging.getLogger(__name__)

# name -> (module, class, device kind, install hint). The classes are imported when first
# asked for: the torch runtimes' modules import torch, which a CPU install need not have.
_WHERE: dict[str, tuple[str, str, str, str]] = {
    "tensorrt": ("stylecast.runtime.tensorrt.runtime", "TensorRTRuntime", "cuda",
                 "pip install 'stylecast[tensorrt]'"),
    "torch-cuda": ("stylecast.runtime.torch_cuda.runtime", "TorchCudaRuntime", "cuda",
                   "pip install 'stylecast[gpu]' (with the CUDA build of torch)"),
    "openvino": ("stylecast.runtime.openvino_runtime", "OpenVinoRuntime", "cpu",
                 "pip install openvino"),
    "onnxruntime": ("stylecast.runtime.onnxruntime_runtime", "OnnxRuntimeRuntime", "cpu",
                    "pip install onnxruntime"),
    "torch": ("stylecast.runtime.pytorch", "TorchRuntime", "cpu",
              "pip install torch==2.13.0 'stylecast[torch]'"),
}


def _missing_runtime(name: str, device_kind: str, hint: str, reason: str) -> type[Runtime]:
    """A stand-in for a runtime whose module cannot be imported (torch is absent): it is
    listed and passed over like any unavailable runtime, with ``reason``."""

    def unavailable(*_: Any, **__: Any) -> Any:
        raise BackendUnavailable(reason)

    attributes = {"name": name, "device_kind": device_kind, "fix_hint": hint,
                  "capabilities": classmethod(unavailable), "open": unavailable,
                  "infer": unavailable, "close": lambda self: None,
                  "info": property(unavailable)}
    return type(f"Missing{name.title().replace('-', '')}Runtime", (Runtime,), attributes)


class _RuntimeTable(MutableMapping[str, type[Runtime]]):
    """``RUNTIMES``: the runtime classes by name, each imported on first access."""

    def __init__(self) -> None:
        self._classes: dict[str, type[Runtime]] = {}

    def __getitem__(self, name: str) -> type[Runtime]:
        cls = self._classes.get(name)
        if cls is not None:
            return cls
        if name not in _WHERE:
            raise KeyError(name)
        module, attribute, device_kind, hint = _WHERE[name]
        try:
            cls = getattr(importlib.import_module(module), attribute)
        except ImportError as exc:
            reason = f"{exc}; {hint}"
            if (exc.name or "").split(".")[0] == "torch":
                reason = f"the {name} runtime needs PyTorch, which is not installed: {hint}"
            cls = _missing_runtime(name, device_kind, hint, reason)
        self._classes[name] = cls
        return cls

    def __setitem__(self, name: str, cls: type[Runtime]) -> None:
        self._classes[name] = cls

    def __delitem__(self, name: str) -> None:
        del self._classes[name]

    def __iter__(self) -> Iterator[str]:
        return iter({**dict.fromkeys(_WHERE), **dict.fromkeys(self._classes)})

    def __len__(self) -> int:
        return len(set(_WHERE) | set(self._classes))


RUNTIMES: MutableMapping[str, type[Runtime]] = _RuntimeTable()
#: The order "auto" tries: fastest first, the torch CPU runtime last.
AUTO_ORDER = ("tensorrt", "torch-cuda", "openvino", "onnxruntime", "torch")


def _lookup(name: str) -> type[Runtime]:
    cls = RUNTIMES.get(name)
    if cls is None:
        raise ConfigError(f"unknown runtime {name!r}; choose one of: auto, "
                          f"{', '.join(RUNTIMES)}")
    return cls


def _check_options(options: Mapping[str, Any]) -> None:
    if not options:
        return  # and no runtime module is imported for nothing
    known = {option for cls in RUNTIMES.values() for option in cls.option_names}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError(f"no runtime has the option {', '.join(unknown)}; known options: "
                          f"{', '.join(sorted(known)) or 'none'}")


def _open_one(
    name: str, network: StyleNetwork | PackNetwork, precision: str, threads: int | None,
    cache_dir: Path | None, options: Mapping[str, Any],
) -> Runtime:
    cls = _lookup(name)
    # Options of other runtimes (a --fallback-runtime's, "auto"'s) are not this one's.
    taken = {key: value for key, value in options.items() if key in cls.option_names}
    runtime = cls(network=network, precision=precision, threads=threads, cache_dir=cache_dir,
                  **taken)
    try:
        runtime.open()
    except (BackendUnavailable, EngineBuildError):
        runtime.close()
        raise
    return runtime


def open_runtime(
    name: str, *, network: StyleNetwork | PackNetwork, precision: str = "auto",
    threads: int | None = None,
    cache_dir: Path | None = None, options: Mapping[str, Any] | None = None,
) -> Runtime:
    """Open a runtime by name, or the first that opens when ``name`` is "auto".

    Args:
        name: a key of ``RUNTIMES``, or "auto" to walk ``AUTO_ORDER``.
        network: the network to run: a pack's (``StylePack.network``; the ONNX runtimes
            run its shipped graphs, without torch) or a torch ``StyleNetwork``.
        precision: one of ``PRECISIONS``; "auto" lets each runtime choose its fastest.
        threads: CPU threads for inference; None leaves the runtime's default.
        cache_dir: root of the stylecast cache; the user cache directory when None.
        options: runtime-specific options by name (``Runtime.option_names``), e.g.
            ``{"cuda_graph": False}`` for torch-cuda. Each runtime gets the ones it takes
            and ignores the others; an option no runtime has is a ConfigError.

    Returns:
        An opened runtime; the caller closes it.

    Raises:
        ConfigError: unknown runtime, precision or option name.
        BackendUnavailable: the named runtime (or, for "auto", every runtime) cannot open;
            for "auto" the message lists each runtime's reason.
        EngineBuildError: the named runtime failed to build its engine.
    """
    if precision not in PRECISIONS:
        raise ConfigError(f"unknown precision {precision!r}; choose one of: "
                          f"{', '.join(PRECISIONS)}")
    options = options or {}
    _check_options(options)
    if name != "auto":
        return _open_one(name, network, precision, threads, cache_dir, options)
    failures: list[str] = []
    for candidate in AUTO_ORDER:
        try:
            return _open_one(candidate, network, precision, threads, cache_dir, options)
        except BackendUnavailable as exc:
            failures.append(f"{candidate}: {exc}")
            logger.debug("runtime %s unavailable, trying the next: %s", candidate, exc)
        except EngineBuildError as exc:
            failures.append(f"{candidate}: {exc}")
            logger.warning("runtime %s failed to build, trying the next: %s", candidate, exc)
    raise BackendUnavailable(
        f"no runtime could open at precision {precision} (tried {', '.join(AUTO_ORDER)}): "
        + "; ".join(failures)
    )


def describe_runtimes() -> list[dict[str, Any]]:
    """What ``stylecast doctor`` shows: one entry per runtime, in ``AUTO_ORDER``.

    Returns:
        Dicts with ``name`` (str), ``available`` (bool), ``precisions`` (list of str,
        preferred first; empty when unavailable), ``device`` (str), ``reason`` (why it is
        unavailable, with what to do; "" when available) and ``fix`` (the runtime's install
        hint; "" when available).
    """
    rows: list[dict[str, Any]] = []
    for name in AUTO_ORDER:
        cls = RUNTIMES[name]
        try:
            caps = cls.capabilities()
        except BackendUnavailable as exc:
            rows.append({"name": name, "available": False, "precisions": [],
                         "device": cls.device_kind, "reason": str(exc), "fix": cls.fix_hint})
            continue
        rows.append({"name": name, "available": True, "precisions": list(caps.precisions),
                     "device": caps.device, "reason": "", "fix": ""})
    return rows
