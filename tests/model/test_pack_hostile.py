"""Style packs are untrusted downloads: huge files, escaping symlinks, non-UTF-8 manifests."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from stylecast.errors import PackError
from stylecast.model.pack import MANIFEST, MAX_WEIGHTS_BYTES, load_pack
from tests.conftest import make_pack


def _point_manifest_at(pack: Path, name: str) -> None:
    manifest = pack / MANIFEST
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(text.replace('"lite.safetensors"', f'"{name}"'), encoding="utf-8")


def test_manifest_pointing_at_a_huge_file_is_refused_without_reading_it(
    tmp_path: Path,
) -> None:
    pack = make_pack(tmp_path / "p")
    with (pack / "huge.safetensors").open("wb") as fh:
        fh.truncate(MAX_WEIGHTS_BYTES + 1)  # sparse: costs no disk, would cost a long hash
    _point_manifest_at(pack, "huge.safetensors")
    started = time.monotonic()
    with pytest.raises(PackError, match="over the"):
        load_pack(pack).load_network("lite")
    assert time.monotonic() - started < 2.0


def test_a_huge_manifest_is_refused(tmp_path: Path) -> None:
    pack = make_pack(tmp_path / "p")
    manifest = pack / MANIFEST
    manifest.write_text(manifest.read_text(encoding="utf-8") + "#" * (2 << 20) + "\n",
                        encoding="utf-8")
    with pytest.raises(PackError, match="over"):
        load_pack(pack)


def test_weights_symlink_escaping_the_pack_is_refused(tmp_path: Path) -> None:
    pack = make_pack(tmp_path / "p")
    outside = tmp_path / "elsewhere.safetensors"
    # The very same bytes, so the checksum would pass: only the location is wrong.
    shutil.move(pack / "lite.safetensors", outside)
    (pack / "lite.safetensors").symlink_to(outside)
    with pytest.raises(PackError, match="outside its pack"):
        load_pack(pack).load_network("lite")


def test_manifest_symlink_escaping_the_pack_is_refused(tmp_path: Path) -> None:
    pack = make_pack(tmp_path / "p")
    outside = tmp_path / "manifest.toml"
    shutil.move(pack / MANIFEST, outside)
    (pack / MANIFEST).symlink_to(outside)
    with pytest.raises(PackError, match="outside its pack"):
        load_pack(pack)


def test_symlink_inside_the_pack_is_fine(tmp_path: Path) -> None:
    pack = make_pack(tmp_path / "p")
    (pack / "lite.safetensors").rename(pack / "real.safetensors")
    (pack / "lite.safetensors").symlink_to("real.safetensors")
    assert load_pack(pack).load_network("lite") is not None


def test_non_utf8_manifest_is_refused_with_the_reason(tmp_path: Path) -> None:
    pack = make_pack(tmp_path / "p")
    manifest = pack / MANIFEST
    text = manifest.read_text(encoding="utf-8").replace("made by the tests", "caf\u00e9")
    manifest.write_bytes(text.encode("latin-1"))
    with pytest.raises(PackError, match="not UTF-8"):
        load_pack(pack)


def test_hostile_pack_through_the_cli_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from stylecast.cli import main

    pack = make_pack(tmp_path / "packs" / "p")
    outside = tmp_path / "elsewhere.safetensors"
    shutil.move(pack / "lite.safetensors", outside)
    (pack / "lite.safetensors").symlink_to(outside)
    monkeypatch.setenv("STYLECAST_STYLES", str(tmp_path / "packs"))
    monkeypatch.setattr("stylecast.styles.shipped_styles_dir", lambda: tmp_path / "none")
    monkeypatch.setattr("platformdirs.user_data_dir", lambda *a, **k: str(tmp_path / "none"))
    code = main(["render", "test", "-o", str(tmp_path / "o.mp4"), "--frames", "2",
                 "--style", "alpha", "--runtime", "torch"])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err
    assert [line for line in err.splitlines() if line.startswith("stylecast: error")] == [
        next(line for line in err.splitlines() if "outside its pack" in line)]
