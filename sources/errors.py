"""The error every data source raises for data it cannot use."""


class DataSourceError(ValueError):
  """A data set or file that cannot be used; the message is one line naming it."""
