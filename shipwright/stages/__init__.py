"""The specification's CI stages 1-3 (lint, tests, audit) for the app and this project."""
