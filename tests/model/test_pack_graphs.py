"""A pack's shipped ONNX graphs: written with the weights, checksummed, tied to the weights
they came from, verified when used, and run by the ONNX runtimes instead of an export."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from stylecast.errors import BackendUnavailable, PackError
from stylecast.model import packnet
from stylecast.model.export import onnx_path
from stylecast.model.pack import load_pack, write_network
from stylecast.model.spec import GRAPH_FORMAT, TEMPORAL_GRAPH_FORMAT
from stylecast.runtime import graphs
from tests.conftest import TINY, assert_onnx_runtimes_paint_as, make_network, make_pack

BASE = {"pack": "testpack", "description": "made by the tests",
        "styles": [{"name": n, "title": n, "artist": "A", "year": 1900, "basis": "test"}
                   for n in ("alpha", "beta", "gamma")]}


@pytest.fixture(scope="module")
def graph_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny pack with its graphs (exported once for the module: seconds)."""
    root = tmp_path_factory.mktemp("packs") / "testpack"
    write_network(root, BASE, make_network(), {"steps": 0})
    return root


@pytest.fixture
def pack_copy(graph_pack: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(graph_pack, tmp_path / "testpack"))


def _manifest(root: Path) -> dict:
    return tomllib.loads((root / "manifest.toml").read_text())


def test_the_graphs_are_recorded_with_their_checksums_and_weights(graph_pack: Path) -> None:
    entry = _manifest(graph_pack)["networks"]["lite"]
    assert entry["onnx"]["file"] == "lite.onnx"
    assert entry["temporal_onnx"]["file"] == "lite.temporal.onnx"
    assert entry["onnx"]["graph_format"] == GRAPH_FORMAT
    assert entry["temporal_onnx"]["graph_format"] == TEMPORAL_GRAPH_FORMAT
    for kind in ("onnx", "temporal_onnx"):
        assert entry[kind]["weights_sha256"] == entry["sha256"]
    network = load_pack(graph_pack).network("lite")
    assert network.graph("onnx") == graph_pack / "lite.onnx"
    assert network.graph("temporal_onnx") == graph_pack / "lite.temporal.onnx"
    assert network.stats_channels == make_network().stats_channels


def test_a_tampered_graph_fails_its_checksum(pack_copy: Path) -> None:
    graph = pack_copy / "lite.onnx"
    data = bytearray(graph.read_bytes())
    data[len(data) // 2] ^= 0xFF
    graph.write_bytes(bytes(data))
    with pytest.raises(PackError, match="checksum"):
        load_pack(pack_copy).network("lite").graph("onnx")


def test_a_missing_graph_says_to_reinstall(pack_copy: Path) -> None:
    (pack_copy / "lite.temporal.onnx").unlink()
    with pytest.raises(PackError, match="missing; reinstall"):
        load_pack(pack_copy).network("lite").graph("temporal_onnx")


def test_graphs_of_replaced_weights_are_not_used(pack_copy: Path) -> None:
    # New weights written by hand, the manifest's weights checksum updated, graphs left.
    from safetensors.torch import save_file

    from stylecast.model.pack import sha256_of

    old = _manifest(pack_copy)["networks"]["lite"]["sha256"]
    state = {k: v.contiguous() for k, v in make_network(seed=5).state_dict().items()}
    save_file(state, str(pack_copy / "lite.safetensors"))
    manifest = pack_copy / "manifest.toml"
    new = sha256_of(pack_copy / "lite.safetensors")
    manifest.write_text(manifest.read_text().replace(f'sha256 = "{old}"\nchannels',
                                                     f'sha256 = "{new}"\nchannels'))
    network = load_pack(pack_copy).network("lite")
    assert network.graph("onnx") is None
    assert "export-onnx" in (network.graph_problem("onnx") or "")


def test_writing_weights_without_graphs_removes_the_old_ones(pack_copy: Path) -> None:
    write_network(pack_copy, BASE, make_network(seed=3), {"steps": 1}, graphs=False)
    assert not (pack_copy / "lite.onnx").exists()
    assert "onnx" not in _manifest(pack_copy)["networks"]["lite"]
    assert "ships no ONNX graph" in (load_pack(pack_copy).network("lite").graph_problem("onnx")
                                     or "")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("file", "../escape.onnx", "plain \\*.onnx name"),
    ("file", "lite.safetensors", "plain \\*.onnx name"),
    ("sha256", "abc", "64 lowercase hex"),
    ("graph_format", "2", "graph_format must be a whole number"),
])
def test_a_malformed_graph_entry_is_refused_with_the_field(
    pack_copy: Path, field: str, value: str, message: str
) -> None:
    import tomli_w

    raw = _manifest(pack_copy)
    raw["networks"]["lite"]["onnx"][field] = value
    (pack_copy / "manifest.toml").write_text(tomli_w.dumps(raw))
    with pytest.raises(PackError, match=message):
        load_pack(pack_copy)


def test_a_graph_entry_that_is_not_a_table_is_refused(pack_copy: Path) -> None:
    import tomli_w

    raw = _manifest(pack_copy)
    raw["networks"]["lite"]["temporal_onnx"] = "lite.temporal.onnx"
    (pack_copy / "manifest.toml").write_text(tomli_w.dumps(raw))
    with pytest.raises(PackError, match=r"\[networks.lite.temporal_onnx\] must be a table"):
        load_pack(pack_copy)


def test_export_onnx_adds_graphs_to_an_older_pack(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from stylecast.cli import main

    root = tmp_path / "old"
    write_network(root, BASE, make_network(), {"steps": 0, "command": "x"}, graphs=False)
    before = _manifest(root)
    assert main(["export-onnx", str(root)]) == 0
    after = _manifest(root)
    assert after["networks"]["lite"]["training"] == before["networks"]["lite"]["training"]
    assert after["styles"] == before["styles"]
    assert load_pack(root).network("lite").graph("temporal_onnx") is not None
    assert "lite graphs written" in capsys.readouterr().out


def test_the_onnx_runtimes_run_the_shipped_graph_without_exporting(
    graph_pack: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    def no_torch(why: str) -> None:
        raise BackendUnavailable(f"{why} needs PyTorch (blocked by the test)")

    monkeypatch.setattr(packnet, "import_torch", no_torch)
    assert_onnx_runtimes_paint_as(make_network(), load_pack(graph_pack).network("lite"),
                                  tmp_path)


def test_an_older_pack_without_torch_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_torch(why: str) -> None:
        raise BackendUnavailable(f"{why} needs PyTorch (blocked by the test)")

    monkeypatch.setattr(packnet, "import_torch", no_torch)
    network = load_pack(make_pack(tmp_path / "old")).network("lite")  # no graphs
    with pytest.raises(BackendUnavailable, match=r"ships no ONNX graph.*pip install torch"):
        graphs.onnx_graph(network, tmp_path)


def test_an_older_pack_with_torch_is_exported_as_before(tmp_path: Path) -> None:
    root = tmp_path / "old"
    write_network(root, BASE, make_network(), {"steps": 0}, graphs=False)
    network = load_pack(root).network("lite")
    path = graphs.onnx_graph(network, tmp_path / "cache")
    assert path == onnx_path(network.module(), tmp_path / "cache")
    assert network.module().spec == TINY
