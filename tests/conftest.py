"""Settings for the whole test session."""

import os

# Idle OpenMP threads that spin take the CPU from everything else on a 2-core machine; set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """Test models and tensors are tiny: a thread pool only adds synchronisation, and costs seconds when busy."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def shared_cifar10(tmp_path_factory):
    """The real CIFAR-10 from $NAS_CIFAR10_DIR (an extracted image-folder copy), decoded once per session.

    .ci/run unpacks ../shared/datasets/cifar10-jpeg.tar.gz and sets the variable, so CI never skips these tests.
    """
    from nas.data import load_dataset

    folder = os.environ.get("NAS_CIFAR10_DIR")
    if not folder:
        pytest.skip("NAS_CIFAR10_DIR is not set (extract ../shared/datasets/cifar10-jpeg.tar.gz and point it at "
                    "the folder holding train/ and test/)")
    return load_dataset("cifar10", folder, cache_dir=tmp_path_factory.mktemp("cifar10-cache"), progress=False)


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    """A small image-folder dataset (train/ and test/, 3 classes of 16 px images) for searches and campaigns."""
    from search_fixtures import make_image_folder

    return make_image_folder(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def ray_session():
    """Modules that start a local Ray in-process (`pytestmark = pytest.mark.usefixtures("ray_session")`) shut it
    down when they end, so each module starts from a clean Ray."""
    import ray

    yield
    if ray.is_initialized():
        ray.shutdown()
