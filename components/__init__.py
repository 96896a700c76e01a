"""Custom TFX components, one per folder (component.py, executor.py)."""
