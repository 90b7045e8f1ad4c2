"""Device side: measure artifacts (the harness, one bench run, profiles, sessions).

numpy + one runtime; nothing here imports torch or TensorFlow.
"""
