"""TFX's Pusher with an executor that never leaves a partial model version in serving_model/."""
