"""Benchmarks: `make bench` or `python -m benchmarks [NAME]`.

Each ``bench_<name>.py`` module exposes ``DESCRIPTION`` and ``async def run() -> dict``.
The dict holds the measured ``figures``, the ``baseline`` measured in the same run on the
same machine, and ``ratio`` between them; ``__main__`` prints it and writes
``benchmarks/results/<name>.json``. See docs/benchmarks.md.
"""
