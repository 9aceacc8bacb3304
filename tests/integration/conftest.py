import pytest

from tests.integration import cluster
from workers.localrun import running_pipeline


@pytest.fixture(scope="module")
def pipeline(request, tmp_path_factory):
    """The module's pipeline; a module's WORKER_ENV (settings for its workers) is applied when it has one."""
    with running_pipeline(tmp_path_factory.mktemp("worker-logs"), getattr(request.module, "WORKER_ENV", None)) as running:
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
