"""The torch-cuda runtime: CUDA graphs per frame size, the temporal graph, the plan."""
