"""The tf.Example features every data source is written as, and that the model reads."""
IMAGE_SIZE = 28
IMAGE_KEY = "image"  # 784 raw uint8 bytes, row-major 28x28, 0 = background, 255 = ink
LABEL_KEY = "label"  # int64 class index; NO_LABEL in the `unlabeled` split
NO_LABEL = -1
EXAMPLE_ID_KEY = "example_id"  # index of the image in its TFDS split
CLASS_NAME_KEY = "class_name"  # the label's name ("" in `unlabeled`): the Evaluator slices by it
