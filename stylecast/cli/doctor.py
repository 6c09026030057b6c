"""Report what this machine offers stylecast: inference runtimes and their precisions, the
virtual-camera backend and device, capture devices, OBS websocket reachability and installed
style packs, each with the fix when it is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from dataclasses import asdict, dataclass
from typing import Any

from stylecast.errors import first_line


def add_parser(sub: argparse._SubParsersAction) -> None:
    doctor = sub.add_parser(
        "doctor", help="check runtimes, virtual camera, capture devices and OBS",
        description=__doc__)
    doctor.add_argument("--json", action="store_true", help="machine-readable output")
    doctor.set_defaults(handler=doctor_report)


@dataclass
class Check:
    area: str
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _runtime_checks() -> list[Check]:
    from stylecast.runtime import describe_runtimes

    rows = describe_runtimes()
    checks = []
    for row in rows:
        detail = f"{row.get('device', '')} precisions: {', '.join(row.get('precisions', []))}"
        checks.append(Check("runtime", row["name"], bool(row["available"]),
                            detail if row["available"] else row.get("reason", ""),
                            row.get("fix", "")))
    return [*checks, _auto_runtime_check(rows)]


def _auto_runtime_check(rows: list[dict[str, Any]]) -> Check:
    """Which runtime ``--runtime auto`` lands on and what it passes over: a run logs those
    fallbacks at debug level only (they are expected on most machines), so this is where a
    user sees them."""
    skipped: list[str] = []
    for row in rows:
        if row["available"]:
            passed = f"; passes over {', '.join(skipped)} (above)" if skipped else ""
            return Check("runtime", "auto", True, f"picks {row['name']}{passed}")
        skipped.append(row["name"])
    return Check("runtime", "auto", False, "no runtime is available",
                 "pip install openvino onnxruntime (or reinstall stylecast)")


def _vcam_check() -> Check:
    try:
        import pyvirtualcam
    except ImportError:
        return Check("output", "virtual camera", False, "pyvirtualcam is not installed",
                     "pip install pyvirtualcam")
    try:
        with pyvirtualcam.Camera(width=64, height=48, fps=30) as cam:
            return Check("output", "virtual camera", True, f"{cam.backend}: {cam.device}")
    except (RuntimeError, OSError, ValueError) as exc:
        return Check("output", "virtual camera", False, first_line(exc), _vcam_fix())


def _vcam_fix() -> str:
    system = platform.system()
    if system == "Linux":
        return ("sudo apt install v4l2loopback-dkms && sudo modprobe v4l2loopback devices=1 "
                "exclusive_caps=1 card_label=stylecast")
    if system in ("Windows", "Darwin"):
        return ("install OBS Studio 26+ and start its Virtual Camera once "
                "(pyvirtualcam's obs backend)")
    return "no virtual-camera backend for this platform; use --stream instead"


def _capture_check() -> Check:
    from stylecast.capture import list_capture_devices

    devices = list_capture_devices()
    if devices:
        return Check("capture", "devices", True, ", ".join(devices))
    return Check("capture", "devices", False, "no camera found",
                 "plug in a webcam, or use --input test, a file, a URL or 'screen'")


def _obs_check() -> Check:
    host = os.environ.get("STYLECAST_OBS_HOST", "127.0.0.1")
    port = int(os.environ.get("STYLECAST_OBS_PORT", "4455"))
    import socket

    try:
        with socket.create_connection((host, port), timeout=0.5):
            return Check("obs", "websocket", True, f"reachable at {host}:{port}")
    except OSError:
        return Check("obs", "websocket", False, f"nothing listens on {host}:{port}",
                     "start OBS and enable Tools > WebSocket Server Settings, or set "
                     "STYLECAST_OBS_HOST/STYLECAST_OBS_PORT")


def _obs_script_check() -> Check:
    from stylecast.shipped import obs_script

    path = obs_script()
    if path.is_file():
        # The script reads /dev/shm with Linux flags (see its header).
        where = "" if platform.system() == "Linux" else " (Linux only; use --obs-mode stream)"
        return Check("obs", "script", True,
                     f"add in OBS with Tools > Scripts > +{where}: {path}")
    return Check("obs", "script", False, f"{path} is missing",
                 "reinstall stylecast; the OBS script ships with it")


def _styles_check() -> Check:
    from stylecast.styles import StyleCatalog

    catalog = StyleCatalog.discover()
    count = len(catalog.styles())
    detail = f"{count} styles in {len(catalog.packs)} packs"
    if catalog.broken:
        detail += f"; broken: {'; '.join(catalog.broken)}"
    return Check("styles", "packs", count > 0 and not catalog.broken, detail,
                 "" if count else "reinstall stylecast (its styles/ folder is missing)")


def _machine_check() -> Check:
    cores = f"{platform.machine()} {os.cpu_count()} cores"
    try:
        import torch
    except ImportError:
        # Not a fault: packs that ship their ONNX graphs run on the CPU runtimes without it.
        return Check("machine", "cpu/gpu", True, f"{cores}, no torch (not needed on a CPU)")
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA GPU"
    return Check("machine", "cpu/gpu", True, f"{cores}, torch {torch.__version__}, {gpu}")


def _graphs_check() -> Check:
    """Whether every pack's CPU network (the one ``auto`` picks there) can run on the CPU
    runtimes: shipped graphs, or torch to export them."""
    from stylecast.engine.build import choose_network
    from stylecast.errors import BackendUnavailable
    from stylecast.model.packnet import TORCH_INSTALL, import_torch
    from stylecast.styles import StyleCatalog

    networks = [pack.network(choose_network(pack, "auto", "openvino"))
                for pack in StyleCatalog.discover().packs]
    problems = [problem for network in networks for kind in ("onnx", "temporal_onnx")
                if (problem := network.graph_problem(kind)) is not None]
    if not problems:
        return Check("styles", "onnx graphs", True,
                     "the packs ship their CPU networks' graphs: no torch needed")
    more = f" ({len(problems) - 1} more)" if len(problems) > 1 else ""
    try:
        import_torch("exporting graphs")
    except BackendUnavailable:
        return Check("styles", "onnx graphs", False, problems[0] + more, TORCH_INSTALL)
    return Check("styles", "onnx graphs", True,
                 f"exported with torch on first use: {problems[0]}{more}")


def doctor_report(args: argparse.Namespace) -> int:
    checks = [_machine_check(), *_runtime_checks(), _vcam_check(), _capture_check(),
              _obs_check(), _obs_script_check(), _styles_check(), _graphs_check()]
    if args.json:
        print(json.dumps([asdict(c) for c in checks], indent=2))
        return 0
    for c in checks:
        mark = "ok  " if c.ok else "MISS"
        print(f"[{mark}] {c.area:8} {c.name:16} {c.detail}")
        if not c.ok and c.fix:
            print(f"{'':33}fix: {c.fix}")
    return 0
