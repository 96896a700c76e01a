"""Keras model, Transform preprocessing_fn and the Trainer run_fn."""
