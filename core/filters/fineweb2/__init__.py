"""FineWeb2 (huggingface/fineweb-2): FineWeb's recipe adapted to every language and script.

`settings` reads FineWeb2's per-language configs, `word_tokenizers` picks each language's word
splitter as datatrove assigns it, `language_id` is GlotLID-style language and script
identification, `precision` the word-list/URL precision filter, `formatters` FTFY and the
table-line fix, `recipe` the steps in FineWeb2's order and `preset` the chain configuration.
"""
