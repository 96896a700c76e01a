"""The labeled split alone: the reference every other method must beat."""
from models import methods


def train(request: methods.TrainRequest) -> methods.Trained:
  from models import classifier, weights  # TensorFlow: see models/methods/__init__.py
  train_part, validation = classifier.supervised_parts(request.labeled, request.training)
  model = request.build_model()
  initial = weights.fingerprints(model)  # shows whether training started from the encoder
  history = classifier.train_classifier(model, train_part, validation, request.training,
                                        request.log_dir, request.strategy)
  return methods.Trained(model, dict(history, initial_fingerprints=initial,
                                     selected_on_validation=validation is not None))


SPEC = methods.MethodSpec(
    name="supervised", description="the labeled split only", uses_unlabeled=False,
    needs_encoder=False, train=train)
