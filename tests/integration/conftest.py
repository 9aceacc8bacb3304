import pytest

from tests.integration import cluster
from workers.localrun import running_pipeline


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    with running_pipeline(tmp_path_factory.mktemp("worker-logs")) as running:
        yield running


@pytest.fixture(scope="module")
def local_cluster():
    """The local cluster mode, started when it is not running (and then stopped again at the end)."""
    started_here = not cluster.running()
    if started_here:
        cluster.stack("start")
    yield
    if started_here:
        cluster.stack("stop")
