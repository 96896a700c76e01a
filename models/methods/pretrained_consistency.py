"""Consistency training that starts from the pre-trained encoder."""
import dataclasses

from models.methods import consistency

SPEC = dataclasses.replace(
    consistency.SPEC, name="pretrained_consistency", needs_encoder=True,
    description="pre-trained encoder, then consistency training")
