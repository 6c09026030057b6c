"""The TensorRT runtime: engine build, profiles and the engine cache. Imports
``tensorrt`` only inside its modules' functions."""
