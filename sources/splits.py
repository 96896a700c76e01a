"""The names of the three splits every source is cut into, shared by ExampleGen, every
component that reads its output, the models and the pipeline."""
LABELED_SPLIT = "labeled"
UNLABELED_SPLIT = "unlabeled"
TEST_SPLIT = "test"
SPLITS = (LABELED_SPLIT, UNLABELED_SPLIT, TEST_SPLIT)
