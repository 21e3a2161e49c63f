"""Performance benchmarks for tanlu (``make bench``; not part of ``make test``).

Run from the repository root with ``.venv/bin/python -m benchmarks``; see docs/performance.md.
"""
