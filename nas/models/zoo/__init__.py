"""The hand-designed baselines, one module per family, each registering its networks in the model registry with
the paper that designed them and their published parameter count (see nas.models.registry).

The model registry imports every module of this package the first time it is asked for a name.
"""
