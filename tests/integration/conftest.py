import pytest

from workers.localrun import Pipeline


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    running = Pipeline(tmp_path_factory.mktemp("worker-logs"))
    try:
        running.start()
        yield running
    finally:
        running.stop()
        running.cleanup()
