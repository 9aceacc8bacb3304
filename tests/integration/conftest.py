import pytest

from workers.localrun import running_pipeline


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    with running_pipeline(tmp_path_factory.mktemp("worker-logs")) as running:
        yield running
