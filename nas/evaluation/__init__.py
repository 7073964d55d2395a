"""Training chosen networks to the end, as Ray Tune trials: found cells at full size (`nas transfer`) and cells
against hand-designed baselines under one recipe (`nas compare`). Both train on the full training set and report
the test set, as papers do."""
