"""Live analysis: stream processors bound to video streams, run by one lease-and-checkpoint engine."""
