"""intake's benchmarks: throughput, memory, stage breakdown and LLM replay, as JSON.

Run them all with ``.venv/bin/python -m benchmarks`` (see benchmarks/README.md); compare two
result files with ``.venv/bin/python -m benchmarks compare OLD.json NEW.json``.
"""
