"""The labeled split alone: the reference every other method must beat."""
from models import classifier
from models import methods


def train(request: methods.TrainRequest) -> methods.Trained:
  train_part, validation = classifier.labeled_parts(request.examples, request.training)
  model = request.build_model()
  history = classifier.train_classifier(model, train_part, validation, request.training,
                                        request.log_dir, request.strategy)
  return methods.Trained(model, history)


SPEC = methods.MethodSpec(
    name="supervised", description="the labeled split only", uses_unlabeled=False,
    needs_encoder=False, train=train)
