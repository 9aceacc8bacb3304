from __future__ import annotations

import json
from pathlib import Path

import pytest

from workers.datasets import REPO_ROOT, shared_data_dir

EXAMPLES_DIR = shared_data_dir().parent / "examples"
SAMPLES_DIR = REPO_ROOT / "samples" / "pages"


@pytest.fixture(scope="session")
def hindi_example() -> tuple[str, dict]:
    """The raw Hindi text scrape and its hand-written expectation (skips when ../shared is absent)."""
    page = EXAMPLES_DIR / "hindi_news_page.txt"
    if not page.exists():
        pytest.skip("../shared/examples is not present")
    expected = json.loads((EXAMPLES_DIR / "hindi_news_page.expected.json").read_text(encoding="utf-8"))
    return page.read_text(encoding="utf-8"), expected


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.exists():
        pytest.skip("../shared/data is not present")
    return path
