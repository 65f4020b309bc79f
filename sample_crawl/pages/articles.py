"""Clean English articles: Python's help topics, standard-library module pages, licence sections."""
from __future__ import annotations

from sample_crawl.pages.page import SamplePage, html_page
from sample_crawl.rendering import THEMES, slug
from sample_crawl.text_sources import module_docstrings, pydoc_topics, python_license_sections


def article_pages() -> list[SamplePage]:
    """One page per pydoc topic, per module with enough docstring prose, per licence section."""
    return topic_pages() + module_pages() + license_pages()


def topic_pages() -> list[SamplePage]:
    theme, topics = THEMES["reference"], pydoc_topics()
    related = tuple(name for name, _ in topics[:8])
    return [html_page(f"https://{theme.host}/reference/{slug(name)}.html", "article", theme,
                      name.replace("-", " ").title(), text, source=f"pydoc_data.topics:{name}",
                      related=related)
            for name, text in topics]


def module_pages() -> list[SamplePage]:
    theme, modules = THEMES["notes"], module_docstrings()
    related = tuple(name for name, _ in modules[:6])
    return [html_page(f"https://{theme.host}/modules/{module}/", "article", theme,
                      f"The {module} module", text, source=f"docstring:{module}", related=related)
            for module, text in modules]


def license_pages() -> list[SamplePage]:
    theme = THEMES["legal"]
    return [html_page(f"https://{theme.host}/python/{slug(heading)}", "article", theme, heading,
                      text, source=f"LICENSE.txt:{heading}")
            for heading, text in python_license_sections()]
