"""A zero-cost proxy registered from outside `nas/`: how many images the proxy batch holds (a value a test can
predict: `nas score --batch-size B` gives B). Load it with `NAS_IMPORT=count_proxy` or `--import count_proxy`."""

from nas.zero_cost import register_proxy


@register_proxy("batch_images", description="images in the proxy batch (an example of a user's proxy)")
def batch_images(probe) -> float:
    return float(len(probe.inputs))
