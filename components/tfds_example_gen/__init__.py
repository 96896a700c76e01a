"""TFDSExampleGen: TFDS data set -> labeled / unlabeled / test tf.Examples."""
