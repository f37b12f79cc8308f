"""The bsb planning service: an HTTP API, job processes and a web page around the planner.

Planners upload scenarios and submit planning jobs; BULOG staff and facilitators read plans,
maps and papers. State lives in a SQL database (SQLite in the data folder by default) and in
plan folders written atomically under the data folder, so nothing is lost when the server
restarts. ``cli.py`` starts it (``bsb serve``) and creates tokens (``bsb token create``).
"""
