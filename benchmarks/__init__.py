"""Benchmarks of bsb: planning time and quality on scenarios of growing size.

Run them as modules, e.g. ``python -m benchmarks.plan_sizes``; results go to
``benchmarks/RESULTS.md`` with the machine, the date and the command.
"""
