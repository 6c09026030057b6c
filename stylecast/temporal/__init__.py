"""The temporal feature cache, one module per job: cache.py (the state between frames and
the order of the steps), motion.py (optical flow), blend.py (confidence in the history and
the output blend), reuse.py (speed mode: reused frames and the crops that refresh them),
region.py (which crops), config.py (tuning and counters), state.py (the per-frame state as
numpy), graph.py (TemporalFrameGraph), warp.py and warp_cpu.py (the warp). The ONNX export
is model/export.py's; synthetic video with exact motion is in tools/synthetic.py.
See docs/TEMPORAL.md."""
