"""Bench results as JSON and as the markdown of docs/dev/BENCHMARKS.md."""

from __future__ import annotations

from stylecast.tools.bench.machine import one_line


def markdown(result: dict) -> str:
    lines = [f"### {result['date']} — {one_line(result['machine'])}", "",
             f"Command: `{result['command']}`", "",
             "Model only (frame in, frame out; median / p95 ms per frame):", "",
             "| model | runtime | precision | " + " | ".join(result["sizes"]) + " |",
             "|---|---|---|" + "---|" * len(result["sizes"])]
    groups: dict[tuple, dict] = {}
    for row in result["model"]:
        key = (row["model"], row["runtime"], row["precision"])
        groups.setdefault(key, {})[row["size"]] = row
    for (model, runtime, precision), by_size in groups.items():
        cells = [f"{by_size[s]['median_ms']:.1f} / {by_size[s]['p95_ms']:.1f}"
                 if s in by_size else "-" for s in result["sizes"]]
        lines.append(f"| {model} | {runtime} | {precision} | " + " | ".join(cells) + " |")
    lines += ["", "End to end (test source → capture → stylize → upsample → output, real "
              "pipeline threads):", "",
              "| output | network runs at | runtime | mode | fps | latency p50 / p95 ms | "
              "drops | stage medians ms |", "|---|---|---|---|---|---|---|---|"]
    for row in result["pipeline"]:
        stages = ", ".join(f"{k} {v}" for k, v in row["stage_ms"].items())
        lines.append(f"| {row['output']} | {row['process_size']} | {row['runtime']} "
                     f"{row['precision']} | {row['mode']} | {row['fps']} | "
                     f"{row['latency_p50_ms']} / {row['latency_p95_ms']} | {row['drops']} | "
                     f"{stages} |")
    if result.get("ratios"):
        lines += ["", "Ratios (same run):", ""]
        lines += [f"- {k}: **{v}×**" for k, v in result["ratios"].items()]
    return "\n".join(lines) + "\n"


def _cell(value: object, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def gpu_markdown(result: dict) -> str:
    """The markdown of ``stylecast bench --gpu`` (``stylecast.tools.bench.gpu.run_gpu_bench``)."""
    gpu = result["gpu"]
    lines = [f"### GPU, {result['date']} — {gpu['device']}", "",
             f"Driver {gpu.get('driver') or '?'}, CUDA {gpu.get('cuda') or '?'}, cuDNN "
             f"{gpu.get('cudnn') or '?'}, torch {gpu['torch']}; compute capability "
             f"{gpu.get('compute_capability', '?')}, {gpu.get('memory_gib', '?')} GiB; host "
             f"{one_line(result['machine'])}.", "",
             f"Command: `{result['command']}`", "",
             f"Networks: {result['weights']}.", ""]
    if result["model"]:
        lines += [f"Model only, torch-cuda f16 (median / p95 of {result['runs']} runs after "
                  f"{result['warmup']} warm-up; compute = CUDA events on the compute stream, "
                  "frame = infer() on the wall clock, transfers included; streamed = two "
                  "frames in flight, the next submitted before the last is taken; peak = "
                  "max_memory_allocated of that configuration alone):", "",
                  "| network | size | mode | compute ms | model fps | frame ms | frame fps | "
                  "streamed fps | peak GPU MiB |", "|---|---|---|---|---|---|---|---|---|"]
        for row in result["model"]:
            if row.get("error"):
                lines.append(f"| {row['network']} | {row['size']} | {row['mode']} | "
                             f"failed: {row['error']} | | | | | |")
                continue
            lines.append(
                f"| {row['network']} | {row['size']} | {row['mode']} | "
                f"{_cell(row['compute_ms_median'])} / {_cell(row['compute_ms_p95'])} | "
                f"{_cell(row['model_fps'], 1)} | {_cell(row['frame_ms_median'])} / "
                f"{_cell(row['frame_ms_p95'])} | {_cell(row['frame_fps'], 1)} | "
                f"{_cell(row.get('streamed_fps'), 1)} | {_cell(row['peak_mib'], 1)} |")
        lines.append("")
    if result["pipeline"]:
        lines += ["End to end (test source → capture → stylize on torch-cuda f16, CUDA graph "
                  "→ null sink; real pipeline threads):", "",
                  "| network | size | mode | fps | latency p50 / p95 ms | drops | "
                  "stage medians ms |", "|---|---|---|---|---|---|---|"]
        for row in result["pipeline"]:
            stages = ", ".join(f"{k} {v}" for k, v in row["stage_ms"].items())
            lines.append(f"| {row['network']} | {row['size']} | {row['mode']} | {row['fps']} "
                         f"| {_cell(row['latency_p50_ms'], 1)} / "
                         f"{_cell(row['latency_p95_ms'], 1)} | {row['drops']} | {stages} |")
        lines.append("")
    if result["kernels"]:
        lines += ["Kernels (stylecast.kernels.bench; compulsory bytes read + written per call "
                  "over the mean time of back-to-back calls):", "",
                  "| kernel | frame | format | h x w | dtype | Triton GB/s | reference "
                  "GB/s | Triton ms | reference ms |", "|---|---|---|---|---|---|---|---|---|"]
        for row in result["kernels"]:
            size = "x".join(str(n) for n in row.get("size") or ())
            lines.append(
                f"| {row.get('kernel')} | {row.get('frame', '-')} | {row.get('fmt') or '-'} | "
                f"{size} | {row.get('dtype', '-')} | {_cell(row.get('triton_gbps'), 1)} | "
                f"{_cell(row.get('reference_gbps'), 1)} | {_cell(row.get('triton_ms'), 3)} | "
                f"{_cell(row.get('reference_ms'), 3)} |")
        lines.append("")
    return "\n".join(lines)
