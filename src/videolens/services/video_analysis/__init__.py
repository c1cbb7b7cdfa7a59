"""Video analysis: the one pipeline (frame source → sampler → models → tracker → sinks) and its uses."""
