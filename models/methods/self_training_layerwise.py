"""The research method's proposed method: self-training whose every round starts from the
pre-trained encoder."""
import dataclasses

from models.methods import self_training

SPEC = dataclasses.replace(
    self_training.SPEC, name="self_training_layerwise", needs_encoder=True,
    description="self-training, every round from the pre-trained encoder (the research method's)")
