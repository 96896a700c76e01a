"""Consistency training that starts from the pre-trained encoder."""
import dataclasses

from models.methods import consistency

SPEC = dataclasses.replace(
    consistency.SPEC, name="pretrained_consistency", needs_encoder=True,
    # Its warm start fine-tunes the pre-trained encoder: not the reference's fit.
    takes_reference_warm_start=False,
    description="pre-trained encoder, then consistency training")
