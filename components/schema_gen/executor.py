"""TFX's SchemaGen executor, minus the splits that hold no example.

TFDV's `update_schema` marks every feature it does not see as deprecated, so an empty split
(an unlabeled pool with every picture labeled, an empty `unlabeled/`) would deprecate `image`
and Transform would then find no such feature. An empty split says nothing about the schema.
"""
import json
import logging
from typing import Any, Dict, List

from tfx.components.schema_gen import executor as tfx_executor
from tfx.components.statistics_gen import stats_artifact_utils
from tfx.types import artifact_utils
from tfx.types import standard_component_specs


def empty_splits(statistics_artifact) -> List[str]:
  """The splits of an ExampleStatistics artifact whose statistics count no example."""
  return [split for split in artifact_utils.decode_split_names(statistics_artifact.split_names)
          if not any(d.num_examples for d in stats_artifact_utils.load_statistics(
              statistics_artifact, split).proto().datasets)]


class Executor(tfx_executor.Executor):

  def Do(self, input_dict: Dict[str, List[Any]], output_dict: Dict[str, List[Any]],
         exec_properties: Dict[str, Any]) -> None:
    key = standard_component_specs.EXCLUDE_SPLITS_KEY
    excluded = json.loads(exec_properties.get(key) or "null") or []
    empty = [s for s in empty_splits(artifact_utils.get_single_instance(
        input_dict[standard_component_specs.STATISTICS_KEY])) if s not in excluded]
    if empty:
      logging.info("Schema inferred without the empty splits %s", empty)
    super().Do(input_dict, output_dict, {**exec_properties, key: json.dumps(excluded + empty)})
