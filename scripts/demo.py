"""The demo: ingest the sample pages (and the shared Hindi example when present), wait until they are searchable,
print what the pipeline made of each, and run a sample search. Expects the stack and workers to be running."""

from __future__ import annotations

import subprocess
import sys
import time

from workers.commands.ingest import _expand, _pages_from_file
from workers.runtime.search import search
from workers.config import load_settings
from workers.datasets import REPO_ROOT, shared_data_dir
from workers.runtime.search import make_client


def main() -> int:
    inputs = [REPO_ROOT / "samples" / "pages"]
    example = shared_data_dir().parent / "examples" / "hindi_news_page.txt"
    if example.exists():
        inputs.append(example)
    page_ids = [page.page_id for path in _expand([str(p) for p in inputs]) for page in _pages_from_file(path, None)]
    subprocess.run([sys.executable, "-m", "workers", "ingest", *map(str, inputs)], check=True)

    settings = load_settings()
    es = make_client(settings)
    deadline = time.monotonic() + 180
    found: dict[str, dict] = {}
    while time.monotonic() < deadline and len(found) < len(page_ids):
        time.sleep(1)
        if es.indices.exists_alias(name=settings.index_alias):
            es.indices.refresh(index=settings.index_alias)
            docs = es.mget(index=settings.index_alias, ids=page_ids)["docs"]
            found = {d["_id"]: d["_source"] for d in docs if d.get("found")}
    print(f"\n{len(found)} of {len(page_ids)} pages searchable in '{settings.index_alias}'\n")
    for document in found.values():
        print(f"• {document['title']}")
        print(f"    language {document['lang']}, category {document['category']} ({document['category_score']:.2f}),"
              f" section {document['section'] or '-'}")
        for kind in ("people", "organisations", "places"):
            if document[kind]:
                print(f"    {kind}: {', '.join(document[kind])}")
    query = "पुतिन" if example.exists() else "इसरो"
    hits = search(es, settings.index_alias, query, size=5)
    print(f"\nsearch {query!r}: {len(hits)} hits")
    for hit in hits:
        print(f"    [{hit['lang']}/{hit['category']}] {hit['title']}")
    print("\nmetrics: http://127.0.0.1:9401/metrics (clean) .. :9404 (index); Prometheus: http://127.0.0.1:9090"
          "\n         e.g. http://127.0.0.1:9090/graph?g0.expr=rate(newswire_stage_messages_total[1m])"
          "\nstop: make workers-stop stack-stop")
    return 0 if len(found) == len(page_ids) else 1


if __name__ == "__main__":
    sys.exit(main())
