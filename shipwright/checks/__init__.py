"""What the deploy flow checks against a serving release: health, smoke, metrics, watch.

Each module only reads (HTTP GETs and scrapes); none changes anything, so all of them
also run in --dry-run mode and in tests against the sample app.
"""
