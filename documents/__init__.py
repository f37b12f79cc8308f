"""What people read and what a plan folder holds: papers, trip sheets, the summary, the plan files.

Layering: ``documents`` imports ``geodata`` (maps, scenario files, formats, file helpers) and
``optimizer``; neither of those imports ``documents``. The one pipeline
(:mod:`documents.pipeline`: read, plan, check, write) sits here because its last step writes
the plan folder.
"""
