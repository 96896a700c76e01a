"""Data sources: TFDS builders (the embedded doodles, local files) and opening them by name."""
