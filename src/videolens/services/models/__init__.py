"""Models capability: one registry of models (onnx, http, kserve, builtin kinds) and one invoke interface."""
