from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from stylecast.errors import PackError
from stylecast.model.pack import load_pack, sha256_of
from tests.conftest import make_pack


def test_pack_round_trip_gives_the_same_network(tmp_path: Path) -> None:
    from tests.conftest import make_network

    root = make_pack(tmp_path / "p")
    pack = load_pack(root)
    assert [s.name for s in pack.styles] == ["alpha", "beta", "gamma"]
    net = pack.load_network("lite")
    ref = make_network()
    for key, value in ref.state_dict().items():
        assert torch.equal(net.state_dict()[key], value)


def test_tampered_weights_fail_the_checksum(tmp_path: Path) -> None:
    root = make_pack(tmp_path / "p")
    weights = root / "lite.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(PackError, match="checksum"):
        load_pack(root).load_network("lite")


def _rewrite_manifest_sha(root: Path) -> None:
    manifest = root / "manifest.toml"
    text = manifest.read_text()
    old = load_pack(root).networks["lite"].sha256
    manifest.write_text(text.replace(old, sha256_of(root / "lite.safetensors")))


def test_wrong_shapes_are_rejected_even_with_a_matching_checksum(tmp_path: Path) -> None:
    root = make_pack(tmp_path / "p")
    state = load_pack(root).load_network("lite").state_dict()
    key = next(k for k in state if k.endswith("pointwise.weight"))
    state[key] = torch.zeros(3, 3, 1, 1)
    save_file({k: v.contiguous() for k, v in state.items()}, str(root / "lite.safetensors"))
    _rewrite_manifest_sha(root)
    with pytest.raises(PackError, match=key.replace(".", r"\.")):
        load_pack(root).load_network("lite")


def test_a_pickle_is_never_loaded(tmp_path: Path) -> None:
    root = make_pack(tmp_path / "p")
    (root / "lite.safetensors").write_bytes(pickle.dumps({"a": 1}, protocol=4))
    _rewrite_manifest_sha(root)
    with pytest.raises(PackError, match="pickle"):
        load_pack(root).load_network("lite")


def test_torch_save_file_is_refused(tmp_path: Path) -> None:
    root = make_pack(tmp_path / "p")
    torch.save({"x": torch.zeros(1)}, root / "lite.safetensors")
    _rewrite_manifest_sha(root)
    with pytest.raises(PackError, match="pickle"):
        load_pack(root).load_network("lite")


@pytest.mark.parametrize("edit, message", [
    (("format_version = 1", "format_version = 99"), "format_version 99"),
    (('file = "lite.safetensors"', 'file = "../evil.safetensors"'), "plain"),
    (('name = "alpha"', 'name = "al pha!"'), "letters"),
])
def test_bad_manifests_say_what_is_wrong(
    tmp_path: Path, edit: tuple[str, str], message: str
) -> None:
    root = make_pack(tmp_path / "p")
    manifest = root / "manifest.toml"
    manifest.write_text(manifest.read_text().replace(*edit))
    with pytest.raises(PackError, match=message):
        load_pack(root)


def test_missing_manifest_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(PackError, match="no manifest.toml"):
        load_pack(tmp_path)
    (tmp_path / "manifest.toml").write_text("this is = = not toml")
    with pytest.raises(PackError, match="not valid TOML"):
        load_pack(tmp_path)


def test_missing_network_size_is_explained(tmp_path: Path) -> None:
    pack = load_pack(make_pack(tmp_path / "p"))
    with pytest.raises(PackError, match="no 'full' network"):
        pack.load_network("full")


def test_garbage_weights_are_not_valid_safetensors(tmp_path: Path) -> None:
    root = make_pack(tmp_path / "p")
    (root / "lite.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{garbage}  ")
    _rewrite_manifest_sha(root)
    with pytest.raises(PackError, match="not a valid safetensors"):
        load_pack(root).load_network("lite")
