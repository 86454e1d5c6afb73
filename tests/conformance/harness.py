"""What the conformance suite needs of a target: settings that point at a real (or the
most real available) instance of it, and three releases -- two good ones and one that
never gets healthy.

A target joins the suite with a module ``harness_<name>.py`` that builds a
:class:`Harness` in a module-scoped fixture named ``<name>_harness``, and one line in
``conftest.py`` (its import and its name in ``TARGETS``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from shipwright.domain import Release
from shipwright.errors import ExitCode
from shipwright.settings import Settings


@dataclass
class Harness:
    name: str  # DEPLOY_TARGET
    settings: Settings
    good: tuple[Release, Release]
    bad: Release  # never becomes healthy
    #: What a failed deploy of ``bad`` over a good release exits with: 1 when the target
    #: never moved traffic, 3 when it moved and put the previous release back.
    bad_exit: ExitCode = ExitCode.FAILED
    #: A command that prints ``conformance-42`` and exits 3 in the release's image.
    command: list[str] = field(
        default_factory=lambda: ["sh", "-c", "echo conformance-$((40 + 2)); exit 3"]
    )
    #: Cases the most real stand-in for this target cannot show (an emulator without
    #: that API): test name -> why, and which test proves that path instead. They skip
    #: here with that reason (also in CI) and run in the target's real-service suite.
    unsupported: dict[str, str] = field(default_factory=dict)

    def require(self, request) -> None:
        """Skip the calling conformance test when this target declared it unsupported."""
        why = self.unsupported.get(request.node.originalname)
        if why:
            request.applymarker(pytest.mark.real_service)
            pytest.skip(f"{self.name}: {why}")
