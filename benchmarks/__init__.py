"""Benchmarks of bsb: planning time and quality on scenarios of growing size, strategies.

Each module is a library: its functions return rows and Markdown; none parses arguments or
prints. Run them with ``bsb bench ...`` (``bsb bench --help``); results go to
``benchmarks/RESULTS.md`` with the machine, the date and the command.
"""
