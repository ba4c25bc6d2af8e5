"""The scenarios of `benchmarks/load.py`, one module each, and what they share.

* `common`: the texts, what a client saw of one request (`Stream`), the options, rounds of
  simultaneous requests, and helpers for the checks.
* `clients`: ttsd's WebSocket client and the raw engine in this process.
* `peers`: the peers (wyoming-piper, piper's HTTP server): their clients and servers.
* `paragraph`, `stream`, `concurrent`, `sweep`, `burst`, `breaking`, `many`, `memory`:
  one scenario each (`load.py --scenarios NAME`): what it measures, its checks and its
  table.

`load.py` starts the systems, runs the scenarios asked for, prints the report and keeps
the command line; `run_all.py` and `plot.py` go through it.
"""
