"""Cleaning an HTML page: trafilatura's extraction core finds the article body; we read the metadata.

Steps: parse once with lxml (as trafilatura's loader does, with a higher nesting limit); read the metadata the
publisher states (`<meta>` tags, JSON-LD, `<title>`, the canonical link, a byline element) - trafilatura's
own metadata step scans the whole body for bylines, categories and licences and costs about a third of its
time, so it is off; strip elements trafilatura always deletes, so that its copies and XPath passes work on a
smaller tree; join an article body split into sibling chunks; run trafilatura's extractor ("fast", precision
settings), with its fallback extractors only when that finds (almost) nothing.

trafilatura's XML-like body tree gives one element per block (p, head, list, quote, table); each block becomes
one paragraph, list items and table rows one paragraph each. Captions, "also read" blocks, promo lines and
tag lists it lets through are dropped with the line rules of the text path (boilerplate.py). The page's
summary, when the page shows it above the body (a standfirst), leads the body. When the body looks lost
(empty, or short against the page's text), trafilatura's default extraction of the unstripped page is
computed too and kept when it is better supported (safety_net.py).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import lxml.html
import orjson
import trafilatura
from htmldate import find_date
from lxml import etree
from lxml.etree import ParserError
from trafilatura.json_metadata import normalize_authors
from trafilatura.settings import Extractor

from workers.stages.clean import boilerplate as bp
from workers.stages.clean.limits import CleanError, Deadline
from workers.stages.clean.normalize import join_paragraphs, normalise_text
from workers.stages.clean.safety_net import DEFAULT_NET
from workers.stages.clean.text import pick_title
from workers.types import CleanedPage

# Below this many characters from the fast extraction, run trafilatura again with its fallback extractors.
FALLBACK_BELOW_CHARS = 500
# A body shorter than this many words, on a page with many links, is a listing rather than an article.
INDEX_MAX_BODY_WORDS = 60
INDEX_MIN_LINKS = 30

# ---------------------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------------------

# Declarations before the root element: an XML declaration naming an encoding (lxml refuses it in a str,
# which is already decoded) and the doctype (some confuse libxml2; lxml needs neither).
_LEADING_DECLARATIONS = re.compile(r"^\s*(?:<\?xml[^>]*>\s*)?(?:<!\s*doctype[^>]*>)?", re.IGNORECASE)
# A self-closed <html .../> in the first lines makes libxml2 drop the whole document.
_SELF_CLOSED_HTML = re.compile(r"(<html\b[^>]*?)\s*/>", re.IGNORECASE)
SELF_CLOSED_HTML_SCAN_CHARS = 4096


def _repaired(raw: str) -> str:
    """The fixes trafilatura's loader applies before libxml2 (its invalid-character pass is done by
    `normalize.sanitise` already)."""
    declarations = _LEADING_DECLARATIONS.match(raw)
    html = raw[declarations.end():] if declarations and declarations.end() else raw
    if _SELF_CLOSED_HTML.search(html[:SELF_CLOSED_HTML_SCAN_CHARS]):
        html = _SELF_CLOSED_HTML.sub(r"\1>", html, count=1)
    return html


# lxml.html picks each element's Python class in a Python callback (form and input elements get their own
# classes), paid every time any code - ours, trafilatura's, htmldate's - touches an element; neither
# trafilatura nor we use those classes, and the fixed lookup runs in C.
_HTML_CLASSES = etree.ElementDefaultClassLookup(
    element=lxml.html.HtmlElement,
    comment=lxml.html.HtmlComment,
    pi=lxml.html.HtmlProcessingInstruction,
    entity=lxml.html.HtmlEntity,
)


def parse_html(raw: str):
    """The page's lxml tree (None for a document without elements), parsed as trafilatura does.

    libxml2 keeps 256 levels of nesting by default and silently drops everything after a deeper spot;
    `huge_tree` raises that to 2048. A page nested deeper still (no real article is) raises
    CleanError("too_deep") rather than coming out truncated.
    """
    parser = lxml.html.HTMLParser(collect_ids=False, default_doctype=False, remove_comments=True, remove_pis=True, huge_tree=True)
    parser.set_element_class_lookup(_HTML_CLASSES)
    try:
        tree = lxml.html.fromstring(_repaired(raw), parser=parser)
    except ParserError:  # nothing but whitespace, comments or a doctype
        return None
    if any(error.type_name == "ERR_RESOURCE_LIMIT" for error in parser.error_log):
        raise CleanError("too_deep", "HTML nested more than 2048 levels deep")
    return tree


# ---------------------------------------------------------------------------------------------------------
# Metadata
# ---------------------------------------------------------------------------------------------------------

# <meta> keys (name, property or itemprop, lower-cased) per field, best first.
_TITLE_KEYS = ("og:title", "twitter:title", "headline", "parsely-title", "sailthru.title", "dc.title", "dcterms.title")
_DATE_KEYS = (
    "article:published_time", "og:article:published_time", "datepublished", "article.published", "parsely-pub-date",
    "sailthru.date", "publishdate", "publish-date", "pubdate", "publication_date", "dc.date.issued", "dcterms.issued",
    "dc.date", "dcterms.date", "dcterms.created", "date",
)
_AUTHOR_KEYS = (
    "author", "article:author", "parsely-author", "sailthru.author", "dc.creator", "dcterms.creator", "byl",
    "citation_author", "authors",
)
_SECTION_KEYS = ("article:section", "articlesection", "parsely-section", "section")
_SITE_KEYS = ("og:site_name", "application-name", "publisher")
_DESCRIPTION_KEYS = ("og:description", "description", "twitter:description")
_KEYWORD_KEYS = ("keywords", "news_keywords", "article:tag", "parsely-tags")
# Bylines in the page when no markup names the author: rel/itemprop author links and "byline" elements.
# Written over the attribute axis: testing only the attributes that exist takes half the time of testing
# each element for each attribute; the union comes back in document order all the same.
_BYLINE = (
    "(//@class[contains(., 'byline') or contains(., 'author-name')] | //@rel[. = 'author'] | //@itemprop[. = 'author'])"
    "/parent::*[not(self::meta or self::link or self::script)]"
)
BYLINE_MAX_CHARS = 100
JSON_LD_MAX_DEPTH = 4
# schema.org types that describe the page's own article (NewsArticle, ReportageNewsArticle, BlogPosting, ...).
_ARTICLE_TYPE = re.compile(r"(?:Article|BlogPosting|Posting|Report)$")
# Dates htmldate finds in the markup alone (its extensive search runs dateparser over the text: seconds).
_DATE_PARAMS = {"extensive_search": False, "original_date": True, "outputformat": "%Y-%m-%dT%H:%M:%S%z"}


# Elements looked up by tag, found in one walk over the page: each `tree.iter(tag)` walks the whole page
# again, and a large page takes a tenth of a millisecond or more per walk. <meta> and JSON-LD scripts may
# stand anywhere in the body, so the <head> alone would not do.
_INDEXED_TAGS = ("meta", "script", "link", "title", "h1", "a")


def index_elements(tree) -> dict[str, list]:
    index: dict[str, list] = {tag: [] for tag in _INDEXED_TAGS}
    for element in tree.iter(*_INDEXED_TAGS):
        index[element.tag].append(element)
    return index


def _is_json_ld(script) -> bool:
    return (script.get("type") or "").strip().lower() == "application/ld+json"


def _collect_meta(metas: list) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for element in metas:
        key = element.get("property") or element.get("name") or element.get("itemprop")
        content = (element.get("content") or "").strip()
        if key and content:
            found.setdefault(key.strip().lower(), []).append(content)
    return found


def _json_ld_objects(scripts: list):
    """Every JSON object of the page's JSON-LD blocks (top level, lists and @graph members)."""
    for script in scripts:
        if not _is_json_ld(script) or not script.text:
            continue
        try:
            data = orjson.loads(script.text.strip())
        except orjson.JSONDecodeError:
            continue
        pending = [data]
        while pending:
            item = pending.pop(0)
            if isinstance(item, list):
                pending.extend(item)
            elif isinstance(item, dict):
                yield item
                if item.get("@graph"):
                    pending.append(item["@graph"])


def _is_article(item: dict) -> bool:
    types = item.get("@type")
    types = types if isinstance(types, list) else [types]
    return any(isinstance(kind, str) and _ARTICLE_TYPE.search(kind) for kind in types)


def _names(value, depth: int = 0) -> list[str]:
    """Names in a JSON-LD person/organisation value (string, object or list of them); a few levels deep
    only, so that hostile JSON nesting cannot exhaust the recursion limit."""
    if isinstance(value, str):
        return [value]
    if depth >= JSON_LD_MAX_DEPTH:
        return []
    if isinstance(value, dict):
        return _names(value.get("name"), depth + 1)
    if isinstance(value, list):
        return [name for item in value for name in _names(item, depth + 1)]
    return []


def _first_text(value) -> str | None:
    if isinstance(value, list):
        value = next((item for item in value if isinstance(item, str) and item.strip()), None)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _iso_datetime(value: str | None) -> str | None:
    """ISO 8601 with a time zone; a date alone or a time without zone is taken as UTC."""
    if not value:
        return None
    value = value.strip()
    try:
        moment = datetime.fromisoformat(value.replace(" ", "T", 1) if len(value) > 10 else value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)  # RFC 2822, as in "Tue, 14 May 2024 09:30:00 GMT"
        except (TypeError, ValueError, IndexError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.isoformat()


_TITLE_SEPARATOR = re.compile(r"\s+(?:\||-|–|—|::|·|•|«|»)\s+|\s*[｜|]\s*|：(?=[^：]+$)")


def _squeezed(text: str) -> str:
    return "".join(bp.tokens(text))


def _without_site_name(title: str, site_names: list[str]) -> str:
    """A title without the site name that publishers append or prepend ("Headline | Site", "Site - Headline")."""
    names = [name for name in map(_squeezed, site_names) if name]
    segments = _TITLE_SEPARATOR.split(title)
    if len(segments) < 2 or not names:
        return title

    def is_site(segment: str) -> bool:
        squeezed = _squeezed(segment)
        # the segment is (part of) a site name, or a site name with a word or two around it ("BBC News")
        return bool(squeezed) and any(
            squeezed in name or (name in squeezed and len(squeezed) <= 2 * len(name) + 2) for name in names
        )

    while len(segments) > 1 and is_site(segments[-1]):
        segments.pop()
    while len(segments) > 1 and is_site(segments[0]):
        segments.pop(0)
    if len(segments) == len(_TITLE_SEPARATOR.split(title)):
        return title
    # Rebuild from the original text so that separators inside the headline stay as they were.
    start = title.find(segments[0])
    end = title.rfind(segments[-1]) + len(segments[-1])
    return title[start:end].strip() if start >= 0 and end > start else title


def _host_name(url: str | None) -> str:
    host = urlsplit(url or "").hostname or ""
    parts = [part for part in host.split(".") if part not in ("www", "m", "amp")]
    return max(parts[:-1], key=len) if len(parts) > 1 else ""


def _bylines(tree) -> list[str]:
    for element in tree.xpath(_BYLINE):
        text = " ".join(element.text_content().split())
        if 2 < len(text) <= BYLINE_MAX_CHARS:
            return [text]
    return []


def _text_of(elements: list) -> str:
    return " ".join(elements[0].text_content().split()) if elements else ""


class _PageMetadata:
    """The metadata a page states about itself."""

    def __init__(self, tree, index: dict[str, list], url: str | None):
        meta = _collect_meta(index["meta"])
        article = next((item for item in _json_ld_objects(index["script"]) if _is_article(item)), {})

        def first(keys) -> str | None:
            return next((meta[key][0] for key in keys if key in meta), None)

        self.site_name = first(_SITE_KEYS[:1]) or _first_text(_names(article.get("publisher"))) or first(_SITE_KEYS[1:])
        title = first(_TITLE_KEYS[:1]) or _first_text(article.get("headline")) or first(_TITLE_KEYS[1:])
        if not title:
            title = pick_title(_text_of(index["title"])) or _text_of(index["h1"])
        self.title = _without_site_name(" ".join(title.split()), [self.site_name or "", _host_name(url)])
        self.published_at = _iso_datetime(_first_text(article.get("datePublished")) or first(_DATE_KEYS))
        if self.published_at is None:
            self.published_at = _iso_datetime(find_date(tree, **_DATE_PARAMS))
        author_values = _names(article.get("author")) or [value for key in _AUTHOR_KEYS for value in meta.get(key, [])]
        if not author_values:
            author_values = _bylines(tree)
        authors = None
        for value in author_values:
            authors = normalize_authors(authors, value)
        self.authors = [name.strip() for name in (authors or "").split(";") if name.strip()]
        self.section = _first_text(article.get("articleSection")) or first(_SECTION_KEYS)
        self.description = first(_DESCRIPTION_KEYS)
        self.article_body_chars = len(_first_text(article.get("articleBody")) or "")
        self.keywords = {token for key in _KEYWORD_KEYS for value in meta.get(key, []) for token in bp.tokens(value)}
        canonical = next((link.get("href") for link in index["link"] if (link.get("rel") or "").lower() == "canonical"), None)
        canonical = (canonical or "").strip() or first(("og:url",))
        self.canonical_url = urljoin(url or "", canonical) if canonical else url


# ---------------------------------------------------------------------------------------------------------
# Body
# ---------------------------------------------------------------------------------------------------------

# Containers of running text: the candidates for an article body split into several chunks.
_TEXT_CONTAINERS = "//div[@class][count(p) >= 2] | //section[@class][count(p) >= 2]"
# How far up the chunks of one body may sit apart (the chunk wrappers of one layout grid).
CHUNK_MAX_LEVELS = 3
# Paragraph text between the chunks that belongs to none of them, as a share of the chunks' text.
CHUNK_MAX_FOREIGN_SHARE = 0.1
CHUNK_MIN_CHARS = 500


def _ancestor(element, levels: int):
    for _ in range(levels):
        element = element.getparent()
        if element is None:
            return None
    return element


def _share_an_ancestor(elements: list) -> bool:
    for levels in range(1, CHUNK_MAX_LEVELS + 1):
        first = _ancestor(elements[0], levels)
        if first is not None and all(_ancestor(element, levels) is first for element in elements[1:]):
            return True
    return False


def _foreign_text_between(tree, chunks: list) -> int:
    """Characters of paragraphs lying between the first and the last chunk but inside none of them."""
    inside = {paragraph for chunk in chunks for paragraph in chunk.iter("p")}
    last = list(chunks[-1].iter("p"))[-1]  # chunks come in document order
    started, foreign = False, 0
    for paragraph in tree.iter("p"):
        if paragraph in inside:
            started = True
            if paragraph is last:
                break
        elif started:
            foreign += len(paragraph.text_content())
    return foreign


# Elements trafilatura always deletes (its MANUALLY_CLEANED list); removing them before it runs makes its
# copies of the tree and its XPath passes over the raw tree cheaper (svg icons alone can be thousands of
# nodes). Kept for trafilatura: <noscript> (its fallback extractors read some pages from there), <form>
# (a form holding most of the page's text becomes a <div>), <figure> (one holding a table becomes a <div>)
# and <math> (formulas are salvaged first). <template> is not on its list: a page rendered into a declarative
# shadow root (<template shadowrootmode="open">) has its whole article there.
_NEVER_TEXT = (
    "head", "style", "svg", "iframe", "canvas", "video", "audio", "object", "embed", "picture",
    "nav", "footer", "aside", "menu", "button", "input", "select", "textarea", "label", "dialog",
)


def strip_invisible(tree, scripts: list) -> None:
    """Remove the page's `scripts` (except JSON-LD, which trafilatura reads to recognise forum pages) and
    elements that never hold article text; the metadata has been read by then. Scripts go first, while all
    of them are still in the tree."""
    for script in scripts:
        if not _is_json_ld(script):
            script.drop_tree()
    etree.strip_elements(tree, *_NEVER_TEXT, with_tail=False)


def merge_split_body(tree) -> None:
    """Join an article body that the page splits into sibling chunks with the same class (ads between them).

    trafilatura keeps the first container that looks like a body; on such layouts that is the first chunk
    only. Chunks are merged when they sit under one wrapper and nothing but non-paragraph furniture lies
    between them, so the text order is kept.
    """
    groups: dict[tuple, list] = {}
    for element in tree.xpath(_TEXT_CONTAINERS):
        groups.setdefault((element.tag, element.get("class")), []).append(element)
    for chunks in groups.values():
        if len(chunks) < 2 or any(ancestor in chunks for chunk in chunks for ancestor in chunk.iterancestors()):
            continue
        text = sum(len(chunk.text_content()) for chunk in chunks)
        if text < CHUNK_MIN_CHARS or not _share_an_ancestor(chunks):
            continue
        if _foreign_text_between(tree, chunks) > CHUNK_MAX_FOREIGN_SHARE * text:
            continue
        first = chunks[0]
        for chunk in chunks[1:]:
            if chunk.text and chunk.text.strip():  # text before the chunk's first child moves along
                first[-1].tail = (first[-1].tail or "") + chunk.text
            first.extend(list(chunk))
            chunk.drop_tree()  # keeps the text that follows the chunk


# Elements of trafilatura's body tree that stand as blocks of their own. They nest (paragraphs in a quote,
# a table cell or a div, a list in a list item), and their text carries no whitespace at the edges, so a
# nested block must end the paragraph around it: joined, the last word of one block and the first of the
# next run together ("Jeff Foust" + "Monday, November 18, 2019" + "Earlier this month" in one cell gave
# "Foust" ... "2019Earlier"). Cells are inline: a table row is one paragraph with its cells spaced apart.
_BLOCK_TAGS = frozenset(("p", "head", "list", "item", "quote", "table", "row", "div"))


class _ParagraphCollector:
    """Text of trafilatura's body tree as paragraphs: a block element (or one nested in another) and the run
    of text after it each end the paragraph before them."""

    def __init__(self):
        self.paragraphs: list[str] = []
        self._parts: list[str] = []

    def end_paragraph(self) -> None:
        if self._parts:
            self.paragraphs.append("".join(self._parts))
            self._parts = []

    def add(self, element, children_are_blocks: bool = False) -> None:
        if element.text:
            self._parts.append(element.text)
        for child in element:
            if children_are_blocks or child.tag in _BLOCK_TAGS:
                self.end_paragraph()
                self.add(child)
                self.end_paragraph()
            else:
                if child.tag == "lb":
                    self._parts.append("\n")
                elif child.tag == "cell" and self._parts:
                    self._parts.append(" ")
                self.add(child)
            if child.tail:
                self._parts.append(child.tail)


def _blocks(body) -> list[str]:
    """One paragraph per block of the body: per paragraph, heading, list item, table row, quoted
    paragraph, and per run of text between blocks (trafilatura leaves text that no <p> wraps as the tail
    of the block before it, e.g. paragraphs written as text after each <h2>); <lb/> becomes a line break."""
    collector = _ParagraphCollector()
    collector.add(body, children_are_blocks=True)
    collector.end_paragraph()
    return [normalise_text(block).strip() for block in collector.paragraphs]


# Longest block (in words) still dropped as a caption, an "also read" link, a promo line or a timestamp.
CAPTION_MAX_WORDS = 25
TEASER_MAX_WORDS = 40
PROMO_MAX_WORDS = 40
TIMESTAMP_MAX_WORDS = 10
# A short block showing a bare web address is a share or download line ("Listen: http://...").
LINK_LINE_MAX_WORDS = 8
_URL = re.compile(r"https?://\S")
# A block made of the page's own keywords (its <meta> keywords/tags) is a tag list, not text.
KEYWORD_LIST_MIN_TOKENS = 5
KEYWORD_LIST_MIN_SHARE = 0.9


def _is_keyword_list(block: str, keywords: set[str]) -> bool:
    block_tokens = bp.tokens(block)
    if len(block_tokens) < KEYWORD_LIST_MIN_TOKENS or not keywords:
        return False
    return sum(token in keywords for token in block_tokens) >= KEYWORD_LIST_MIN_SHARE * len(block_tokens)


def _drop_boilerplate(blocks: list[str], keywords: set[str]) -> list[str]:
    """Drop what trafilatura lets through: credits and their captions, "also read" links, teasers, promo,
    link and timestamp lines, advertisement labels, tag lists, and a list header ("Comments", "Tags") or a
    bare "also read" marker with the short blocks after it. Rules see whole blocks: applied line by line
    they cut preformatted text (RFCs, code) apart."""
    kept = []
    after_credit = in_list = False
    for block in blocks:
        words = bp.word_count(block)
        if words == 0:
            continue
        is_credit = bool(bp.CREDIT.match(block))
        related = bp.RELATED_MARKER.match(block)
        starts_list = bool(bp.LIST_HEADER.match(block)) or bool(related and not related.group("headline"))
        # length tests first: the searches are the costly part and most blocks are long paragraphs
        drop = (
            is_credit
            or starts_list
            or (after_credit and words <= CAPTION_MAX_WORDS)
            or (in_list and not bp.is_paragraph_shaped(block))
            or (related and words <= CAPTION_MAX_WORDS)
            or (words <= TEASER_MAX_WORDS and bp.is_teaser(block))
            or (words <= PROMO_MAX_WORDS and bp.is_promo(block))
            or (words <= TIMESTAMP_MAX_WORDS and (bp.TIMESTAMP.search(block) or bp.CLOCK_STAMP.match(block)))
            or (words <= LINK_LINE_MAX_WORDS and _URL.search(block))
            or bp.AD_LABEL.match(block)
            or (words <= LINK_LINE_MAX_WORDS and bp.SHARE_BAR.match(block))
            or (bool(keywords) and _is_keyword_list(block, keywords))
        )
        after_credit = is_credit and words <= bp.CREDIT_ONLY_MAX_WORDS
        in_list = starts_list or (in_list and drop)
        if not drop:
            kept.append(block)
    return kept


def _has_fewer_words(lines: list[str], limit: int) -> bool:
    """Counts only as far as the limit: bodies are usually far longer."""
    total = 0
    for line in lines:
        total += bp.word_count(line)
        if total >= limit:
            return False
    return True


def _quality(paragraphs: list[str], link_count: int) -> str:
    if not paragraphs:
        return "empty"
    lines = [line for paragraph in paragraphs for line in paragraph.split("\n")]
    if not any(bp.is_paragraph_shaped(line) for line in lines):
        return "index"
    if link_count >= INDEX_MIN_LINKS and _has_fewer_words(lines, INDEX_MAX_BODY_WORDS):
        return "index"
    return "article"


def _without_leading_title(paragraphs: list[str], title: str) -> list[str]:
    """trafilatura often starts the body with the headline; the title has its own field."""
    title_tokens = bp.tokens(title)
    while paragraphs and title_tokens and bp.tokens(paragraphs[0]) == title_tokens:
        paragraphs = paragraphs[1:]
    return paragraphs


# The page's summary (standfirst) is looked for on the page when it is at least this long.
LEAD_MIN_CHARS = 40
LEAD_PREFIX_CHARS = 20
# The <meta> description is often a shortened or lightly edited copy of the standfirst the page shows
# ("West Ham United dává" in the description, "West Ham dává ... a fotbalový svět ..." on the page): the shown
# element may be longer than the description, up to a few sentences, and must hold most of its words.
LEAD_MAX_CHARS = 400
LEAD_MIN_SHARED_WORDS = 0.8
_STARTS_WITH = "//body//*[starts-with(normalize-space(text()), $prefix)]"


def _shows_description(shown: str, description: str, wanted: Counter) -> bool:
    if len(shown) > max(2 * len(description), LEAD_MAX_CHARS):
        return False
    shared = sum((Counter(bp.tokens(shown)) & wanted).values())
    return shared >= LEAD_MIN_SHARED_WORDS * sum(wanted.values())


def _visible_lead(tree, description: str | None) -> str | None:
    """The page's summary as shown on the page, if it is: publishers print it above the body's container,
    where trafilatura does not look. Descriptions that appear only in <meta> tags are not taken."""
    description = " ".join((description or "").split())
    if len(description) < LEAD_MIN_CHARS:
        return None
    wanted = Counter(bp.tokens(description.rstrip(".… ")))
    for element in tree.xpath(_STARTS_WITH, prefix=description[:LEAD_PREFIX_CHARS]):
        shown = " ".join(element.text_content().split())
        if _shows_description(shown, description, wanted):
            return shown
    return None


# trafilatura's settings, built once rather than per page; they are read-only during an extraction, so
# threads can share them. With neither links nor images kept, the page's URL does not change the body, so
# the settings carry none. Any output format but "python" keeps bare_extraction from also rendering the body
# as text (a few percent of its time), which we do not use: we read its body tree.
_EXTRACTION_SETTINGS = {
    fast: Extractor(output_format="xml", fast=fast, precision=True, comments=False, tables=True, with_metadata=False)
    for fast in (True, False)
}
# The safety net's second extraction: trafilatura's defaults (balanced focus, with its baseline rescue, JSON-LD
# body and recall retry), as `trafilatura.extract` runs them, but fast (no readability/jusText comparison) and
# without metadata, on the page as parsed.
_SECOND_OPINION_SETTINGS = Extractor(output_format="xml", fast=True, comments=False, tables=True, with_metadata=False)


def _extract_body(tree, settings: Extractor):
    document = trafilatura.bare_extraction(tree, options=settings)
    return document.body if document is not None else None


def _body_length(body) -> int:
    return sum(len(text) for text in body.itertext()) if body is not None else 0


def _chars(paragraphs: list[str]) -> int:
    return sum(map(len, paragraphs))


def _paragraph_chars(tree) -> int:
    """Text the page shows in paragraphs: what the safety net measures a short body against."""
    return sum(len(text) for paragraph in tree.iter("p") for text in paragraph.itertext())


class _Extraction:
    """Our extraction of one page: its metadata, the body paragraphs, and what the safety net needs."""

    def __init__(self, raw: str, url: str | None, deadline: Deadline | None):
        self.raw = raw  # parsed again, unstripped, when the safety net asks for a second opinion
        tree = parse_html(raw)
        self.tree = tree
        if tree is None:
            return
        index = index_elements(tree)
        self.metadata = _PageMetadata(tree, index, url)
        self.link_count = len(index["a"])  # before the navigation is stripped
        strip_invisible(tree, index["script"])
        merge_split_body(tree)
        if deadline is not None:
            deadline.check()
        # trafilatura's own extractor alone ("fast") is about twice as fast and more precise; its fallbacks
        # (readability, jusText) are only needed when it finds (almost) nothing.
        body = _extract_body(tree, _EXTRACTION_SETTINGS[True])
        if _body_length(body) < FALLBACK_BELOW_CHARS:
            if deadline is not None:
                deadline.check()
            body = _extract_body(tree, _EXTRACTION_SETTINGS[False])
        if deadline is not None:
            deadline.check()
        self.title = normalise_text(self.metadata.title or "").strip()
        self.paragraphs = self.shaped(body)

    @property
    def reference_chars(self) -> int:
        """The longer of the page's paragraph text and its JSON-LD `articleBody`. Measured on the tree after
        our stripping and trafilatura's (paragraphs in navigation or a stripped <dialog> no longer count;
        a body they hid is empty, which the net catches without a reference), and only when the safety
        net asks: a body of `MAX_SUSPICIOUS_CHARS` or more never needs it."""
        return max(_paragraph_chars(self.tree), self.metadata.article_body_chars)

    def shaped(self, body) -> list[str]:
        if body is None:
            return []
        return _without_leading_title(_drop_boilerplate(_blocks(body), self.metadata.keywords), self.title)

    def second_opinion(self) -> list[str]:
        """trafilatura's default extraction of the page as parsed (a fresh tree: ours has been stripped)."""
        tree = parse_html(self.raw)
        return self.shaped(_extract_body(tree, _SECOND_OPINION_SETTINGS)) if tree is not None else []

    def page(self, paragraphs: list[str]) -> CleanedPage:
        metadata = self.metadata
        paragraphs = list(paragraphs)
        lead = _visible_lead(self.tree, metadata.description)
        if lead and paragraphs and " ".join(bp.tokens(lead)) not in " ".join(bp.tokens(" ".join(paragraphs))):
            paragraphs.insert(0, normalise_text(lead))
        description = normalise_text(metadata.description or "").strip()
        return CleanedPage(
            title=self.title,
            body=join_paragraphs(paragraphs),
            lead=description or (paragraphs[0] if paragraphs else ""),
            published_at=metadata.published_at,
            authors=metadata.authors,
            section=normalise_text(metadata.section).strip() if metadata.section else None,
            site_name=normalise_text(metadata.site_name).strip() if metadata.site_name else None,
            canonical_url=metadata.canonical_url,
            quality=_quality(paragraphs, self.link_count),
        )


def clean_html(raw: str, url: str | None = None, deadline: Deadline | None = None) -> CleanedPage:
    extraction = _Extraction(raw, url, deadline)
    if extraction.tree is None:
        return CleanedPage(title="", body="", canonical_url=url, quality="empty")
    paragraphs = extraction.paragraphs
    if DEFAULT_NET.is_suspicious(_chars(paragraphs), lambda: extraction.reference_chars):
        if deadline is not None:
            deadline.check()
        paragraphs = DEFAULT_NET.choose(paragraphs, extraction.second_opinion())
    return extraction.page(paragraphs)


@dataclass(frozen=True)
class NetCandidates:
    """Both bodies of a page and the safety net's inputs, for choosing the net's thresholds
    (workers/evaluation/extract.py --cv): a setting keeps `second_body` where it finds `ours` suspicious
    and `SafetyNet.choose` picks `second`."""

    ours: list[str]
    second: list[str]
    reference_chars: int
    ours_body: str
    second_body: str


def net_candidates(raw: str, url: str | None = None) -> NetCandidates:
    extraction = _Extraction(raw, url, None)
    if extraction.tree is None:
        return NetCandidates([], [], 0, "", "")
    second = extraction.second_opinion()
    return NetCandidates(extraction.paragraphs, second, extraction.reference_chars,
                         extraction.page(extraction.paragraphs).body, extraction.page(second).body)
