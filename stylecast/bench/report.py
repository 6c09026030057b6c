"""Bench results as JSON and as the markdown of docs/BENCHMARKS.md."""

from __future__ import annotations

from stylecast.bench.machine import one_line


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
