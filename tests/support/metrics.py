"""Reading a server's `GET /metrics` back with prometheus_client's own parser."""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families


class Exposition:
    """The samples of one scrape, by sample name and labels."""

    def __init__(self, text: str) -> None:
        #: family name → its type ("counter", "gauge", "histogram", ...)
        self.types: dict[str, str] = {}
        self._values: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
        for family in text_string_to_metric_families(text):
            self.types[family.name] = family.type
            for sample in family.samples:
                self._values[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def value(self, name: str, **labels: str) -> float:
        """The value of sample `name` with exactly `labels` (fails naming what exists)."""
        key = (name, frozenset(labels.items()))
        if key not in self._values:
            known = sorted(str(dict(k[1])) for k in self._values if k[0] == name)
            raise AssertionError(f"no sample {name}{labels}; there are {known}")
        return self._values[key]

    def bucket(self, name: str, le: str, **labels: str) -> float:
        """The cumulative count of histogram `name`'s bucket `le`."""
        return self.value(f"{name}_bucket", le=le, **labels)

    def names(self) -> set[str]:
        """Every sample name in the scrape."""
        return {name for name, _ in self._values}


def scrape(base: str, **request: Any) -> Exposition:
    """`GET /metrics` of the server at `base` (`127.0.0.1:PORT`), parsed; must be 200."""
    response = httpx.get(f"http://{base}/metrics", timeout=10, **request)
    assert response.status_code == 200, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return Exposition(response.text)
