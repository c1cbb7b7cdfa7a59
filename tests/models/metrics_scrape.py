"""Scrape `/metrics` and read it with prometheus-client's own parser."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families


class Scrape:
    def __init__(self, text: str) -> None:
        self.families = {f.name: f for f in text_string_to_metric_families(text)}
        self.samples = [s for f in self.families.values() for s in f.samples]

    @staticmethod
    def of(url: str) -> Scrape:
        resp = httpx.get(f"{url}/metrics", timeout=30)
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/plain; version=0.0.4")
        return Scrape(resp.text)

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples called `name` whose labels include `labels` (0 when none)."""
        return sum(
            s.value
            for s in self.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        )

    def exposes(self, name: str) -> bool:
        """A series name a query may use: a sample, or a declared family (+ its type's suffixes)."""
        if any(s.name == name for s in self.samples) or name in self.families:
            return True
        suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created")}
        for family in self.families.values():
            for suffix in suffixes.get(family.type, ()):
                if name == family.name + suffix:
                    return True
        return False
