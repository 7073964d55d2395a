"""`nas bench`: searches answered from a tabular benchmark (NAS-Bench-201) instead of training, to measure samplers
in seconds. It needs samplers and spaces only: no Ray, no training, nothing of nas.search."""
