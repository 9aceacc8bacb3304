"""The clean() contract: dispatch by content type, CleanError reasons, size and time caps."""

from __future__ import annotations

import threading

import pytest

from workers.stages.clean import CleanError, clean

ARTICLE = "Title\n\n" + "The council approved the plan on Tuesday after a long debate about costs and timing. " * 5


def reason_of(*arguments) -> str:
    with pytest.raises(CleanError) as caught:
        clean(*arguments)
    return caught.value.reason


def test_unknown_content_type_is_not_text():
    assert reason_of(ARTICLE, "application/pdf") == "not_text"


def test_binary_content_is_not_text():
    assert reason_of("\x00\x01\x02garbage\x03" * 100, "text/plain") == "not_text"


def test_blank_input_is_empty():
    assert reason_of("  \n\n ", "text/plain") == "empty"
    assert reason_of("", "text/html") == "empty"


def test_content_type_parameters_are_ignored():
    assert clean(ARTICLE, "text/plain; charset=utf-8").title == "Title"


def test_size_cap_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("NEWSWIRE_CLEAN_MAX_BYTES", "100")
    assert reason_of(ARTICLE, "text/plain") == "too_large"
    # Counted in UTF-8 bytes: 40 Devanagari characters are 120 bytes.
    assert reason_of("क" * 40, "text/plain") == "too_large"


def test_time_cap_raises_timeout_on_the_main_thread(monkeypatch):
    monkeypatch.setenv("NEWSWIRE_CLEAN_TIMEOUT_SECONDS", "0.000001")
    assert reason_of(ARTICLE, "text/plain") == "timeout"


def test_time_cap_raises_timeout_in_a_worker_thread(monkeypatch):
    monkeypatch.setenv("NEWSWIRE_CLEAN_TIMEOUT_SECONDS", "0.000001")
    outcome = []

    def work():
        try:
            clean(ARTICLE, "text/plain")
        except CleanError as error:
            outcome.append(error.reason)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert outcome == ["timeout"]


def test_url_is_kept_as_canonical_url_when_the_page_names_none():
    assert clean(ARTICLE, "text/plain", url="https://example.org/a").canonical_url == "https://example.org/a"
