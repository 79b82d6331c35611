"""The benchmarks. Each runs from the repository root as ``python -m benches.<name>`` (see
the README's Benchmarks), which puts the root on the path: they share ``benches._bench``
and take child processes, relays and the YoMo harness from ``devtools``."""
