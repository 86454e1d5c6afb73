"""Docker Compose: the local engine's stacks (``local``)."""
