"""Finding installed style packs and resolving style names.

Packs are looked up, in order, in ``$STYLECAST_STYLES`` (a path list), the user data folder
(``platformdirs.user_data_dir("stylecast")/styles``) and the packs shipped with stylecast.
The first pack that defines a style name wins.
"""

from __future__ import annotations

import difflib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from stylecast import shipped
from stylecast.errors import PackError, StyleNotFound
from stylecast.model.pack import MANIFEST, StyleInfo, StylePack, load_pack

log = logging.getLogger(__name__)


def shipped_styles_dir() -> Path:
    """The ``styles/`` folder shipped with stylecast (repo checkout or installed wheel)."""
    return shipped.styles_dir()


def search_path() -> list[Path]:
    paths = [Path(p) for p in os.environ.get("STYLECAST_STYLES", "").split(os.pathsep) if p]
    from platformdirs import user_data_dir

    paths.append(Path(user_data_dir("stylecast")) / "styles")
    paths.append(shipped_styles_dir())
    return paths


@dataclass(frozen=True)
class StyleCatalog:
    """Every installed pack and the styles they define."""

    packs: tuple[StylePack, ...]
    broken: tuple[str, ...] = ()

    @classmethod
    def discover(cls, paths: list[Path] | None = None) -> StyleCatalog:
        """Load every pack under the search path; a broken pack is reported, not fatal."""
        packs: list[StylePack] = []
        broken: list[str] = []
        for root in paths if paths is not None else search_path():
            if not root.is_dir():
                continue
            candidates = [root] if (root / MANIFEST).is_file() else sorted(root.iterdir())
            for folder in candidates:
                if not (folder / MANIFEST).is_file():
                    continue
                try:
                    packs.append(load_pack(folder))
                except PackError as exc:
                    log.warning("skipping style pack %s: %s", folder, exc)
                    broken.append(f"{folder}: {exc}")
        return cls(packs=tuple(packs), broken=tuple(broken))

    def styles(self) -> list[StyleInfo]:
        seen: dict[str, StyleInfo] = {}
        for pack in self.packs:
            for info in pack.styles:
                seen.setdefault(info.name, info)
        return list(seen.values())

    def pack_of(self, name: str) -> StylePack:
        """The pack that defines style ``name``; StyleNotFound with suggestions otherwise."""
        for pack in self.packs:
            if any(s.name == name for s in pack.styles):
                return pack
        names = [s.name for s in self.styles()]
        if not names:
            raise StyleNotFound("no style packs are installed; reinstall stylecast or set "
                                "STYLECAST_STYLES to a folder of packs")
        close = difflib.get_close_matches(name, names, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise StyleNotFound(f"unknown style {name!r}.{hint} Installed: {', '.join(names)} "
                            "(see `stylecast styles`)")

    def default_style(self) -> str:
        styles = self.styles()
        if not styles:
            raise StyleNotFound("no style packs are installed; reinstall stylecast or set "
                                "STYLECAST_STYLES to a folder of packs")
        return styles[0].name
