"""Runtime adapters, one module each: ``load(artifact) -> Session``."""
