"""The tf.Example features every data source is written as, and that the model reads, and the
pictures' geometry."""
IMAGE_SIZE = 28  # drawings' and digits' side
# (height, width, channels) is a property of the data set: the pipeline reads it from the source
# (sources/tfds_source.py) and gives it to the model (ModelConfig.image_shape).
DRAWING_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)
MAX_IMAGE_SIDE = 512  # larger pictures need models and memory this project does not size for
CHANNELS = (1, 3)  # grey or RGB
LUMA = (0.299, 0.587, 0.114)  # RGB -> grey: ITU-R 601's weights, as Pillow's "L"


def shape_problem(shape) -> str:
  """What is wrong with pictures of `shape` (height, width, channels) for this project, in a
  few words ("" if nothing)."""
  height, width, channels = shape
  if channels not in CHANNELS:
    return f"{channels} channels: expected 1 (grey) or 3 (RGB)"
  if max(height, width) > MAX_IMAGE_SIDE:
    return f"{height} x {width} pixels: at most {MAX_IMAGE_SIDE} a side"
  return ""
IMAGE_KEY = "image"  # 784 raw uint8 bytes, row-major 28x28, 0 = background, 255 = ink
LABEL_KEY = "label"  # int64 class index; NO_LABEL in the `unlabeled` split
NO_LABEL = -1
EXAMPLE_ID_KEY = "example_id"  # index of the image in its TFDS split
CLASS_NAME_KEY = "class_name"  # the label's name ("" in `unlabeled`): the Evaluator slices by it

# What statistics and a schema can see of a picture (the image itself is one opaque bytes value
# to them): written beside it, read by no model.
IMAGE_HEIGHT_KEY = "image_height"
IMAGE_WIDTH_KEY = "image_width"
IMAGE_CHANNELS_KEY = "image_channels"
MEAN_INTENSITY_KEY = "mean_intensity"  # mean pixel value / 255
INK_FRACTION_KEY = "ink_fraction"  # share of pixels at half intensity or more
INK_HEIGHT_KEY = "ink_height"  # rows, and columns, of the box around those pixels (0: blank)
INK_WIDTH_KEY = "ink_width"
PICTURE_KEYS = (IMAGE_HEIGHT_KEY, IMAGE_WIDTH_KEY, IMAGE_CHANNELS_KEY, MEAN_INTENSITY_KEY,
                INK_FRACTION_KEY, INK_HEIGHT_KEY, INK_WIDTH_KEY)
ALL_KEYS = (IMAGE_KEY, LABEL_KEY, EXAMPLE_ID_KEY, CLASS_NAME_KEY) + PICTURE_KEYS
