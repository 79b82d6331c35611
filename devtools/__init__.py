"""What the tests and the benches share: child processes and free ports
(:mod:`devtools.processes`), a lossy UDP relay (:mod:`devtools.udp_relay`), two QUIC
connections back to back in memory (:mod:`devtools.quic_pair`), the YoMo
harness (:mod:`devtools.harness`) and the zipper fuzzer (:mod:`devtools.fuzzing`).

Development tooling only: it is not part of the distribution (see
``[tool.setuptools.packages.find]``) and is imported from the repository root, where
pytest's ``pythonpath`` and ``python -m benches.<name>`` put it on the path.
"""
