"""Analyzers: run a registered model on live video streams (and stored videos), records to a data stream."""
