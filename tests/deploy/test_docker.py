"""The Dockerfile (multi-stage, non-root, models checked into the image) and the build context .dockerignore keeps.

No image is built here (no Docker daemon on the test machines); docs/kubernetes.md says so."""

from __future__ import annotations

import re

from workers.datasets import REPO_ROOT

DOCKERFILE = REPO_ROOT / "deploy" / "docker" / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in joined.splitlines() if line.strip()]


def stages(text: str) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for instruction in instructions(text):
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent directories decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern[1:] if negated else pattern
        body = body.strip("/")
        regex = re.compile("^" + re.escape(body).replace(r"\*\*", ".*").replace(r"\*", "[^/]*").replace(r"\?", "[^/]") + "$")
        if any(regex.match(candidate) for candidate in candidates):
            excluded = not negated
    return excluded


def test_image_is_multi_stage_and_runs_as_non_root():
    build, runtime = stages(DOCKERFILE.read_text())
    assert build[0][1].endswith("AS build") and runtime[0][1].endswith("AS runtime")
    (user,) = [args for name, args in runtime if name == "USER"]
    uid, gid = user.split(":")
    assert int(uid) > 0 and int(gid) > 0
    assert ("ENTRYPOINT", '["newswire"]') in runtime
    runtime_text = " ".join(args for _, args in runtime)
    assert "build-essential" not in runtime_text and "--from=build" in runtime_text


def test_build_checks_that_the_models_are_in_the_package():
    build = " ".join(args for name, args in stages(DOCKERFILE.read_text())[0] if name == "RUN")
    assert "pip install ." in build and "'models'" in build


def test_build_context_holds_the_package_and_its_models_only():
    patterns = [line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip() and not line.startswith("#")]
    for path in ("pyproject.toml", "README.md", "workers/cli.py", "workers/models/topics/MODEL_CARD.md",
                 "workers/runtime/index_template.json"):
        assert not ignored(path, patterns), path
    for path in (".venv/bin/python", ".cache/kafka-libs/x.jar", "var/log/kafka.log", ".git/HEAD", "tests/unit/x.py",
                 "newswire-clean-data/v1/x", "workers/__pycache__/cli.cpython-311.pyc", "deploy/helm/newswire/Chart.yaml"):
        assert ignored(path, patterns), path
