"""Device side: measure artifacts (the harness, one bench run, profiles, sessions); numpy + one runtime, no torch or TensorFlow."""
