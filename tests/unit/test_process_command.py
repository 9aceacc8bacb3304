"""`newswire process FILE` reads the file's bytes and lets the clean stage decode them, as the runtime does."""

from __future__ import annotations

import random
import subprocess
import sys

import orjson
import pytest

from tests.encoded_pages import STORIES, page_html
from workers.datasets import REPO_ROOT


def process(path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workers", "process", str(path), "--json"], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("story, codec, charset, declaration", [
    ("ru", "cp1251", "windows-1251", "meta"),
    ("hi", "utf-8-sig", "utf-8", "bom"),
])
def test_process_decodes_the_file_bytes(tmp_path, story, codec, charset, declaration):
    path = tmp_path / "page.html"
    path.write_bytes(page_html(story, charset, declaration).encode(codec))
    result = process(path)
    assert result.returncode == 0, result.stderr
    document = orjson.loads(result.stdout.splitlines()[-1])
    assert document["title"] == STORIES[story][0]
    assert STORIES[story][1][0] in document["body"]


def test_process_reports_bytes_that_are_no_text(tmp_path):
    generator = random.Random(3)
    path = tmp_path / "noise.html"
    path.write_bytes(bytes(generator.randrange(1, 256) for _ in range(3000)))
    result = process(path)
    assert result.returncode == 1
    assert "undecodable" in result.stderr
