"""The research method's pre-training then fine-tuning: the classifier starts from the encoder
that the LayerwisePretrainer component trained on the pool (with its pretext), then trains on
the labels as `supervised` does."""
import dataclasses

from models.methods import supervised

SPEC = dataclasses.replace(
    supervised.SPEC, name="layerwise", needs_encoder=True,
    description="pre-trained encoder (pretext on the pool), then fine-tuning on the labels")
