"""Style packs: ``styles/<pack>/manifest.toml`` plus safetensors weights.

A pack is untrusted input (users download them): weights are safetensors only, never a
pickle; every file's sha256 is checked against the manifest before it is parsed; tensor
names, shapes and dtypes are checked against the network the manifest declares; nothing in
a pack is executed or evaluated.

A pack may also ship its networks' ONNX graphs (plain and temporal), checksummed in the
manifest like the weights and tied to the weights they were exported from: with them the
OpenVINO and onnxruntime runtimes run without torch (``stylecast.model.packnet``).
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stylecast.errors import PackError
from stylecast.fileio import atomic_path, write_atomically
from stylecast.model.spec import HEADS, SIZES, NetworkSpec

if TYPE_CHECKING:  # torch only where weights are read or written
    import torch

    from stylecast.model.network import StyleNetwork
    from stylecast.model.packnet import PackNetwork

FORMAT_VERSION = 1
MANIFEST = "manifest.toml"
MAX_WEIGHTS_BYTES = 512 * 1024 * 1024
MAX_MANIFEST_BYTES = 1024 * 1024  # a real manifest is a few kB; never read gigabytes
_PICKLE_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05", b"PK\x03\x04")
#: The graph kinds a network entry may ship: manifest key -> file name suffix.
GRAPH_KINDS = {"onnx": ".onnx", "temporal_onnx": ".temporal.onnx"}


@dataclass(frozen=True)
class StyleInfo:
    """One style of a pack: its index in the style vector and its provenance."""

    name: str
    index: int
    title: str
    artist: str
    year: int | str
    basis: str
    pack: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "artist": self.artist,
                "year": self.year, "pack": self.pack}


@dataclass(frozen=True)
class GraphEntry:
    """An ONNX graph a pack ships for one of its networks.

    Attributes:
        file: file name in the pack folder.
        sha256: checksum of that file.
        weights_sha256: checksum of the weights file it was exported from; a graph whose
            weights were replaced since is stale and not used.
        graph_format: ``GRAPH_FORMAT`` (or ``TEMPORAL_GRAPH_FORMAT``) it was exported at.
    """

    file: str
    sha256: str
    weights_sha256: str
    graph_format: int


@dataclass(frozen=True)
class NetworkEntry:
    """One trained network of a pack (``lite`` or ``full``)."""

    spec: NetworkSpec
    file: str
    sha256: str
    training: dict[str, Any] = field(default_factory=dict)
    # The frame width (px) the network was trained to paint at: strokes have the painting's
    # size relative to the frame when a frame is run at this width. None for older packs,
    # which are run at the frame's own size.
    reference_width: int | None = None
    # Shipped ONNX graphs by kind ("onnx", "temporal_onnx"); empty for older packs.
    graphs: dict[str, GraphEntry] = field(default_factory=dict)


@dataclass(frozen=True)
class StylePack:
    """A validated manifest; weights are read and checked only when asked for."""

    name: str
    root: Path
    styles: tuple[StyleInfo, ...]
    networks: dict[str, NetworkEntry]
    manifest: dict[str, Any]

    def style(self, name: str) -> StyleInfo:
        for info in self.styles:
            if info.name == name:
                return info
        raise PackError(f"pack {self.name!r} has no style {name!r}")

    def entry(self, size: str) -> NetworkEntry:
        """The manifest's ``size`` network; PackError naming the ones it has otherwise."""
        entry = self.networks.get(size)
        if entry is None:
            have = ", ".join(sorted(self.networks)) or "none"
            raise PackError(f"pack {self.name!r} has no {size!r} network (it has: {have})")
        return entry

    def network(self, size: str) -> PackNetwork:
        """The ``size`` network as a runtime takes it: spec and shipped graphs, no torch;
        the torch module is built only if a runtime asks for it."""
        from stylecast.model.packnet import PackNetwork

        return PackNetwork(self, size)

    def load_network(self, size: str) -> StyleNetwork:
        """Build the ``size`` network with this pack's weights, fully validated."""
        from stylecast.model.network import StyleNetwork

        entry = self.entry(size)
        network = StyleNetwork(entry.spec)
        path = inside_pack(self.root, entry.file)
        state = read_weights(path, entry.sha256, network)
        network.load_state_dict(state, strict=True)
        return network.eval()


def inside_pack(root: Path, name: str) -> Path:
    """``root/name``, refused if it resolves outside ``root`` (a symlink planted in a
    downloaded pack could otherwise make stylecast read any file the user can)."""
    path = root / name
    resolved, base = path.resolve(), root.resolve()
    if not resolved.is_relative_to(base):
        raise PackError(f"{path} points outside its pack (to {resolved}); a pack's files "
                        "must live in the pack folder: remove the link and reinstall the pack")
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: Path, expected_sha256: str, what: str = "weights file") -> None:
    """Present, not oversized, not a pickle, and matching its manifest checksum."""
    if not path.is_file():
        raise PackError(f"{what} {path} is missing; reinstall the pack")
    size = path.stat().st_size
    if size > MAX_WEIGHTS_BYTES:
        raise PackError(f"{path} is {size} bytes, over the {MAX_WEIGHTS_BYTES} limit")
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith(_PICKLE_MAGIC):
        raise PackError(f"{path} is a pickle/torch.save file; style packs must be "
                        "safetensors and ONNX (pickles can run code and are never loaded)")
    actual = sha256_of(path)
    if actual != expected_sha256:
        raise PackError(f"{path} fails its checksum: sha256 {actual[:16]}..., manifest says "
                        f"{expected_sha256[:16]}...; the file is corrupt or was tampered with")


def read_weights(path: Path, expected_sha256: str, network: StyleNetwork) -> dict:
    """Checksum, then parse as safetensors, then compare every tensor with ``network``."""
    verify_file(path, expected_sha256)
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise PackError(f"{path} is not a valid safetensors file: {exc}") from exc
    expected = network.state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        raise PackError(f"{path} does not match the {network.spec.size} network: "
                        f"missing {missing[:3]}, unexpected {extra[:3]}")
    for key, ref in expected.items():
        got = state[key]
        if got.shape != ref.shape or got.dtype != ref.dtype:
            raise PackError(f"{path}: tensor {key} is {tuple(got.shape)} {got.dtype}, "
                            f"expected {tuple(ref.shape)} {ref.dtype}")
    return state


def _require(table: dict, key: str, kind: type | tuple, where: str) -> Any:
    value = table.get(key)
    if not isinstance(value, kind):
        raise PackError(f"{where}: field {key!r} is missing or not {kind}")
    return value


def _parse_style(raw: Any, index: int, pack: str, where: str) -> StyleInfo:
    if not isinstance(raw, dict):
        raise PackError(f"{where}: each [[styles]] entry must be a table")
    name = _require(raw, "name", str, where)
    if not name.replace("-", "").replace("_", "").isalnum():
        raise PackError(f"{where}: style name {name!r} may hold only letters, digits, - and _")
    return StyleInfo(
        name=name, index=index, title=_require(raw, "title", str, where),
        artist=_require(raw, "artist", str, where), year=_require(raw, "year", (int, str), where),
        basis=_require(raw, "basis", str, where), pack=pack,
    )


def _parse_network(size: str, raw: Any, num_styles: int, where: str) -> NetworkEntry:
    if size not in SIZES or not isinstance(raw, dict):
        raise PackError(f"{where}: [networks.{size}] is not a known network size {SIZES}")
    file = _require(raw, "file", str, where)
    if Path(file).name != file or not file.endswith(".safetensors"):
        raise PackError(f"{where}: network file {file!r} must be a plain *.safetensors name")
    try:
        spec = NetworkSpec(size=size, num_styles=num_styles,
                           channels=_require(raw, "channels", int, where),
                           blocks=_require(raw, "blocks", int, where),
                           # absent in packs made before there were two heads
                           head=raw.get("head", HEADS[0]))
    except ValueError as exc:
        raise PackError(f"{where}: [networks.{size}] {exc}") from exc
    training = raw.get("training", {})
    graphs = {kind: _parse_graph(size, kind, raw[kind], where)
              for kind in GRAPH_KINDS if kind in raw}
    reference_width = raw.get("reference_width")
    if reference_width is not None and (not isinstance(reference_width, int)
                                        or not 64 <= reference_width <= 8192):
        raise PackError(f"{where}: [networks.{size}] reference_width must be a whole number "
                        f"of pixels between 64 and 8192, got {reference_width!r}")
    return NetworkEntry(spec=spec, file=file, sha256=_require(raw, "sha256", str, where),
                        training=training if isinstance(training, dict) else {},
                        reference_width=reference_width, graphs=graphs)


def _is_sha256(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _parse_graph(size: str, kind: str, raw: Any, where: str) -> GraphEntry:
    table = f"[networks.{size}.{kind}]"
    if not isinstance(raw, dict):
        raise PackError(f"{where}: {table} must be a table with file, sha256, weights_sha256 "
                        "and graph_format")
    file = _require(raw, "file", str, f"{where} {table}")
    if Path(file).name != file or not file.endswith(".onnx"):
        raise PackError(f"{where}: {table} file {file!r} must be a plain *.onnx name in the "
                        "pack folder")
    checksums = {key: _require(raw, key, str, f"{where} {table}")
                 for key in ("sha256", "weights_sha256")}
    for key, value in checksums.items():
        if not _is_sha256(value):
            raise PackError(f"{where}: {table} {key} must be 64 lowercase hex digits (a "
                            f"sha256), got {value[:20]!r}")
    graph_format = raw.get("graph_format")
    if not isinstance(graph_format, int) or isinstance(graph_format, bool) or graph_format < 1:
        raise PackError(f"{where}: {table} graph_format must be a whole number from 1, got "
                        f"{graph_format!r}")
    return GraphEntry(file=file, sha256=checksums["sha256"],
                      weights_sha256=checksums["weights_sha256"], graph_format=graph_format)


def load_pack(root: Path) -> StylePack:
    """Read and validate ``root/manifest.toml``; raises PackError with the reason."""
    path = root / MANIFEST
    try:
        path = inside_pack(root, MANIFEST)
        with path.open("rb") as fh:
            raw = fh.read(MAX_MANIFEST_BYTES + 1)
    except FileNotFoundError as exc:
        raise PackError(f"{root} has no {MANIFEST}; it is not a style pack") from exc
    except OSError as exc:
        raise PackError(f"{path} cannot be read ({exc.strerror or exc})") from exc
    if len(raw) > MAX_MANIFEST_BYTES:
        raise PackError(f"{path} is over {MAX_MANIFEST_BYTES} bytes; a manifest is a few kB, "
                        "so this is not a style pack")
    try:
        manifest = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PackError(f"{path} is not UTF-8 text (byte {exc.start}); save the manifest "
                        "as UTF-8") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PackError(f"{path} is not valid TOML: {exc}") from exc
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise PackError(f"{path}: format_version {version!r} is not supported (this stylecast "
                        f"reads {FORMAT_VERSION}); upgrade stylecast or the pack")
    name = _require(manifest, "pack", str, str(path))
    raw_styles = _require(manifest, "styles", list, str(path))
    styles = tuple(_parse_style(s, i, name, str(path)) for i, s in enumerate(raw_styles))
    if len({s.name for s in styles}) != len(styles):
        raise PackError(f"{path}: style names must be unique")
    raw_networks = _require(manifest, "networks", dict, str(path))
    networks = {size: _parse_network(size, raw, len(styles), str(path))
                for size, raw in raw_networks.items()}
    return StylePack(name=name, root=root, styles=styles, networks=networks, manifest=manifest)


def write_network(
    root: Path, manifest_base: dict[str, Any], network: StyleNetwork, training: dict[str, Any],
    reference_width: int | None = None, *, graphs: bool = True,
) -> Path:
    """Save ``network`` as ``<size>.safetensors`` in ``root`` and record it in the manifest.

    ``manifest_base`` holds pack, description and styles; other networks already in an
    existing manifest are kept. With ``graphs`` (the default) the network's ONNX graphs,
    plain and temporal, are exported beside the weights (seconds; needs onnxscript) and
    recorded with their checksums, so the pack runs on OpenVINO and onnxruntime without
    torch. Without, graphs of this size left from earlier weights are removed.
    """
    from safetensors.torch import save_file

    root.mkdir(parents=True, exist_ok=True)
    spec = network.spec
    file = f"{spec.size}.safetensors"
    state = {k: v.detach().contiguous().cpu() for k, v in network.state_dict().items()}
    with atomic_path(root / file) as tmp:
        save_file(state, str(tmp), metadata={"format_version": str(FORMAT_VERSION),
                                             "size": spec.size})
    weights_sha256 = sha256_of(root / file)
    entry: dict[str, Any] = {"file": file, "sha256": weights_sha256,
                             "channels": spec.channels, "blocks": spec.blocks,
                             "training": training}
    if spec.head != HEADS[0]:
        entry["head"] = spec.head  # absent means the default, as in packs written before
    if reference_width is not None:
        entry["reference_width"] = int(reference_width)
    if graphs:
        from stylecast.model.packnet import write_graphs

        entry.update(write_graphs(root, network, weights_sha256))
    else:
        for suffix in GRAPH_KINDS.values():
            (root / f"{spec.size}{suffix}").unlink(missing_ok=True)
    update_manifest(root, manifest_base, spec.size, entry)
    return root / file


def update_manifest(root: Path, manifest_base: dict[str, Any] | None, size: str,
                    entry: dict[str, Any]) -> None:
    """Write ``[networks.<size>]`` = ``entry`` into ``root``'s manifest, atomically; other
    networks are kept, and with ``manifest_base`` None so are pack, description and styles."""
    import tomli_w

    manifest_path = root / MANIFEST
    existing: dict[str, Any] = {}
    if manifest_path.is_file():
        existing = tomllib.loads(manifest_path.read_text(encoding="utf-8"))
    base = manifest_base if manifest_base is not None else {
        key: value for key, value in existing.items()
        if key not in ("format_version", "networks")}
    networks = dict(existing.get("networks", {}))
    networks[size] = entry
    manifest = {"format_version": FORMAT_VERSION, **base, "networks": networks}
    write_atomically(manifest_path, [tomli_w.dumps(manifest).encode("utf-8")])


def to_style_vector(weights: dict[int, float], num_styles: int) -> torch.Tensor:
    """(1, S) float32 style vector from {style index: weight}, normalised to sum 1."""
    import torch

    vector = torch.zeros(1, num_styles)
    for index, weight in weights.items():
        vector[0, index] = float(weight)
    total = float(vector.sum())
    if total <= 0:
        raise PackError("a style blend needs at least one positive weight")
    return vector / total
