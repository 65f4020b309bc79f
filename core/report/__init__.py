"""A crawl's report: what every stage did to its documents, as markdown with PNG charts."""
