"""Deploy targets: one module each, one interface (shipwright.targets.base.Target)."""
