"""TensorRT engine files: the cache key, the metadata header, atomic writes. No TensorRT here.

An engine only runs on the GPU model and TensorRT version it was built with, for the graph,
weights, precision and frame-size profile it was built from. ``EngineKey`` holds every such
field; its digest names the file, and the same fields are written in a header in front of the
serialized engine, so a file that was copied, synced from another machine or damaged is
refused with the field that differs instead of failing inside TensorRT.

File layout::

    MAGIC (8 bytes) | header length (4 bytes, little-endian) | header (UTF-8 JSON) | engine

The header holds ``format``, ``key`` (every ``EngineKey`` field), ``created`` (UTC, ISO 8601),
``engine_bytes`` and ``engine_sha256``. Files live under
``platformdirs.user_cache_dir("stylecast")/engines/``, with one TensorRT timing cache per GPU
and TensorRT version beside them (it makes rebuilds for other sizes much faster).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import struct
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from stylecast.errors import EngineBuildError, EngineMismatch
from stylecast.fileio import write_atomically
from stylecast.model import export
from stylecast.model.network import StyleNetwork
from stylecast.runtime.tensorrt.plan import ShapeProfile, format_size

MAGIC = b"SCTRTENG"
#: Bump whenever the header or what an engine expects of its inputs changes meaning.
ENGINE_FORMAT = 1
_LENGTH = struct.Struct("<I")
_PREFIX = len(MAGIC) + _LENGTH.size
# A header is a few hundred bytes; anything near this is not one of ours.
_MAX_HEADER = 64 * 1024

# How each key field is named in messages.
_LABELS = {
    "gpu_name": "GPU", "compute_capability": "GPU compute capability",
    "tensorrt_version": "TensorRT version", "stylecast_version": "stylecast version",
    "engine_format": "engine format", "network": "network size", "temporal": "temporal graph",
    "graph_key": "ONNX graph", "weights_sha256": "weights sha256", "precision": "precision",
    "profile": "shape profile", "workspace_bytes": "workspace limit",
}


@dataclass(frozen=True)
class EngineKey:
    """Every field that changes a TensorRT engine.

    Attributes:
        gpu_name: ``torch.cuda.get_device_name``.
        compute_capability: "major.minor", e.g. "9.0".
        tensorrt_version: ``tensorrt.__version__``.
        stylecast_version: ``stylecast.__version__``.
        engine_format: ``ENGINE_FORMAT``.
        network: "lite" or "full".
        temporal: True for ``TemporalFrameGraph``, False for ``FrameGraph``.
        graph_key: the ONNX export's cache key (network spec, weights, torch, exporter, opset).
        weights_sha256: digest of the network's weights (also inside ``graph_key``; kept on
            its own so a message can say "other weights").
        precision: "f16" or "f32".
        profile: frame sizes the engine accepts.
        workspace_bytes: TensorRT's workspace memory-pool limit.
    """

    gpu_name: str
    compute_capability: str
    tensorrt_version: str
    stylecast_version: str
    engine_format: int
    network: str
    temporal: bool
    graph_key: str
    weights_sha256: str
    precision: str
    profile: ShapeProfile
    workspace_bytes: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields (the profile as lists)."""
        data = asdict(self)
        data["profile"] = self.profile.as_dict()
        return data

    def digest(self) -> str:
        """32 hex digits that change exactly when a field changes."""
        payload = json.dumps(self.as_dict(), sort_keys=True).encode()
        return hashlib.sha256(payload).hexdigest()[:32]

    def file_name(self) -> str:
        graph = "temporal" if self.temporal else "frame"
        return f"{self.network}-{graph}-{self.precision}-{self.digest()}.engine"

    def rebuild_command(self, target: str = "PACK_OR_STYLE") -> str:
        """The ``stylecast build-engine`` command that builds an engine with this key."""
        sizes = ",".join(format_size(s) for s in (self.profile.opt, self.profile.max))
        gb = self.workspace_bytes / 2**30
        return (f"stylecast build-engine {target} --network {self.network} --sizes {sizes} "
                f"--opt {format_size(self.profile.opt)} --precision {self.precision} "
                f"--workspace-gb {gb:g}{' --temporal' if self.temporal else ''} --force")


def engines_dir(cache_dir: Path | None = None) -> Path:
    """``<cache_dir>/engines``; the user cache directory when ``cache_dir`` is None."""
    root = export.default_cache_dir() if cache_dir is None else Path(cache_dir)
    return root / "engines"


def engine_path(key: EngineKey, cache_dir: Path | None = None) -> Path:
    return engines_dir(cache_dir) / key.file_name()


def timing_cache_path(key: EngineKey, cache_dir: Path | None = None) -> Path:
    """One timing cache per GPU model, compute capability and TensorRT version."""
    machine = f"{key.gpu_name}|{key.compute_capability}|{key.tensorrt_version}"
    digest = hashlib.sha256(machine.encode()).hexdigest()[:16]
    return engines_dir(cache_dir) / f"timing-{digest}.cache"


def encode_engine(key: EngineKey, engine: bytes, created: datetime.datetime | None = None) -> bytes:
    """Header and engine as one blob (what ``write_engine`` writes)."""
    when = created or datetime.datetime.now(datetime.UTC)
    header = {
        "format": ENGINE_FORMAT, "key": key.as_dict(), "created": when.isoformat(),
        "engine_bytes": len(engine), "engine_sha256": hashlib.sha256(engine).hexdigest(),
    }
    raw = json.dumps(header, sort_keys=True).encode()
    return MAGIC + _LENGTH.pack(len(raw)) + raw + engine


def write_engine(path: Path, key: EngineKey, engine: bytes) -> Path:
    """Write ``engine`` with its header to ``path`` atomically; returns ``path``.

    Raises:
        EngineBuildError: the file could not be written.
    """
    blob = encode_engine(key, engine)
    try:
        write_atomically(path, [blob])
    except OSError as exc:
        raise EngineBuildError(f"could not write the TensorRT engine to {path}: {exc}; check "
                               "that the folder is writable and the disk has room") from exc
    return path


def _corrupt(path: Path, what: str, key: EngineKey | None) -> EngineBuildError:
    fix = key.rebuild_command() if key else "stylecast build-engine PACK_OR_STYLE --force"
    return EngineBuildError(f"{path} is not a usable stylecast TensorRT engine: {what}. Delete "
                            f"it or rebuild it: {fix}")


def read_header(path: Path, key: EngineKey | None = None) -> tuple[dict[str, Any], int]:
    """The header of an engine file and the offset where the engine starts.

    Args:
        path: the engine file.
        key: only to put the right rebuild command in messages.

    Raises:
        EngineBuildError: unreadable, bad magic, header length out of bounds, or a header
            that is not a JSON object of this format.
    """
    try:
        with path.open("rb") as handle:
            prefix = handle.read(_PREFIX)
            if len(prefix) < _PREFIX or prefix[:len(MAGIC)] != MAGIC:
                raise _corrupt(path, "bad magic bytes (not written by stylecast, or "
                               "truncated)", key)
            (length,) = _LENGTH.unpack(prefix[len(MAGIC):])
            if not 2 <= length <= _MAX_HEADER:
                raise _corrupt(path, f"header length {length} is out of bounds (2.."
                               f"{_MAX_HEADER})", key)
            raw = handle.read(length)
    except OSError as exc:
        raise EngineBuildError(f"could not read the TensorRT engine {path}: {exc}") from exc
    if len(raw) != length:
        raise _corrupt(path, f"truncated inside the header ({len(raw)} of {length} bytes)", key)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _corrupt(path, f"header is not valid JSON ({exc})", key) from exc
    if not isinstance(header, dict) or not isinstance(header.get("key"), dict):
        raise _corrupt(path, "header is not a JSON object with a 'key'", key)
    if header.get("format") != ENGINE_FORMAT:
        raise _corrupt(path, f"engine format {header.get('format')!r}, this stylecast reads "
                       f"{ENGINE_FORMAT}", key)
    return header, _PREFIX + length


def _show(name: str, value: Any) -> str:
    """A key field's value as a person reads it."""
    if name == "profile" and isinstance(value, dict):
        try:
            return repr(_profile(value).describe())
        except (KeyError, TypeError, ValueError):
            pass
    return repr(value)


def key_differences(found: dict[str, Any], key: EngineKey,
                    ignore: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(field name, phrase) for every field of ``key`` that ``found`` (a header's key)
    differs in."""
    expected = key.as_dict()
    differences = []
    for field in fields(EngineKey):
        name = field.name
        if name in ignore or found.get(name) == expected[name]:
            continue
        shown = _show(name, found[name]) if name in found else "missing"
        differences.append((name, f"{_LABELS[name]} ({name}) is {shown} in the engine but "
                                  f"{_show(name, expected[name])} here"))
    return differences


def check_header(path: Path, header: dict[str, Any], key: EngineKey) -> None:
    """Raise EngineMismatch naming every field where ``header`` differs from ``key``."""
    differences = key_differences(header["key"], key)
    if differences:
        raise EngineMismatch(
            f"{path} was built for a different setup: "
            f"{'; '.join(phrase for _, phrase in differences)}. Rebuild it for this one: "
            f"{key.rebuild_command()}",
            fields=tuple(name for name, _ in differences))


def read_engine(path: Path, key: EngineKey) -> bytes:
    """The serialized engine in ``path``, after checking its header against ``key``.

    Raises:
        EngineMismatch: built for another GPU, TensorRT version, graph, weights, precision,
            profile or workspace; the message names each field and the rebuild command.
        EngineBuildError: unreadable, not ours, truncated or corrupt.
    """
    header, offset = read_header(path, key)
    check_header(path, header, key)
    try:
        engine = path.read_bytes()[offset:]
    except OSError as exc:
        raise EngineBuildError(f"could not read the TensorRT engine {path}: {exc}") from exc
    expected = header.get("engine_bytes")
    if len(engine) != expected:
        raise _corrupt(path, f"truncated: the header promises {expected} engine bytes, the "
                       f"file holds {len(engine)}", key)
    if hashlib.sha256(engine).hexdigest() != header.get("engine_sha256"):
        raise _corrupt(path, "the engine's sha256 does not match its header (damaged file)", key)
    return engine


def find_compatible(key: EngineKey, cache_dir: Path | None = None) -> list[Path]:
    """Cached engines that differ from ``key`` only in profile and workspace, newest first.

    ``stylecast build-engine`` may have built one for other sizes than the runtime's default;
    the runtime then uses it rather than building another. Unreadable files are skipped.
    """
    found: list[tuple[str, Path]] = []
    folder = engines_dir(cache_dir)
    if not folder.is_dir():
        return []
    for path in folder.glob("*.engine"):
        try:
            header, _ = read_header(path)
        except EngineBuildError:
            continue
        if not key_differences(header["key"], key, ignore=("profile", "workspace_bytes")):
            found.append((str(header.get("created", "")), path))
    return [path for _, path in sorted(found, reverse=True)]


def _profile(raw: dict[str, Any]) -> ShapeProfile:
    sizes = [(int(raw[k][0]), int(raw[k][1])) for k in ("min", "opt", "max")]
    return ShapeProfile(min=sizes[0], opt=sizes[1], max=sizes[2])


def profile_of(header: dict[str, Any]) -> ShapeProfile:
    """The shape profile recorded in a (checked) header."""
    return _profile(header["key"]["profile"])


def key_for(
    network: StyleNetwork, *, gpu_name: str, compute_capability: str, tensorrt_version: str,
    precision: str, profile: ShapeProfile, temporal: bool, workspace_bytes: int,
    cache_dir: Path | None = None,
) -> EngineKey:
    """The key of ``network``'s engine on this GPU and TensorRT version.

    ``graph_key`` is the name of the ONNX export the engine is built from, which already
    holds the export's own cache key (network spec, weights, torch, exporter and opset).
    """
    from stylecast import __version__
    from stylecast.model.export import temporal_onnx_path

    onnx = (temporal_onnx_path(network, cache_dir) if temporal
            else export.onnx_path(network, cache_dir))
    return EngineKey(
        gpu_name=gpu_name, compute_capability=compute_capability,
        tensorrt_version=tensorrt_version, stylecast_version=__version__,
        engine_format=ENGINE_FORMAT, network=network.spec.size, temporal=temporal,
        graph_key=onnx.stem, weights_sha256=export.weights_digest(network),
        precision=precision, profile=profile, workspace_bytes=workspace_bytes,
    )
