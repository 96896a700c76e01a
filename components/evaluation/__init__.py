"""Not a component: what the Evaluators compute beyond TFMA's own metrics (paired_gain.py) and
how their results are read (results.py), shared by the push gate, the report and the pipeline."""
