"""The temporal feature cache: warp.py (the warp-and-blend op), graph.py (TemporalFrameGraph),
state.py (the per-frame state as numpy), cache.py (flow, confidence, fast paths), export.py
(ONNX), synthetic.py (video with exact motion for tests and the bench). See docs/TEMPORAL.md."""
