"""Layered environment settings: schema, loader, validation, provenance."""

from shipwright.settings.loader import known_environments, load_settings, parse_assignments
from shipwright.settings.settings import Problem, Settings, Source

__all__ = [
    "Problem",
    "Settings",
    "Source",
    "known_environments",
    "load_settings",
    "parse_assignments",
]
