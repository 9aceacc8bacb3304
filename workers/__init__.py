"""newswire: streaming ingestion of news pages (clean, language, classify, enrich, index)."""

__version__ = "0.1.0"
