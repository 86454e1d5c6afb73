"""Container images: tags from git, docker SDK build and push, and a record of digests.

Split so each piece is testable alone: ``tags`` and ``reference`` are pure,
``record`` is a few JSON files, ``build`` and ``push`` talk to the engine (the
``docker`` SDK is imported inside their functions, never at import time) and send
every state-changing call through :meth:`shipwright.runner.Runner.api` so
``--dry-run`` prints the plan instead.
"""
