"""ProX refinement ("Programming Every Example", arXiv 2409.17115), engine-free.

A small language model writes a program for each document (`drop_doc()` / `keep_doc()`) and for
each chunk of it (`remove_lines(...)`, `normalize(...)`, `keep_chunk()`); this package holds the
rest: the program language and its parser (`program`), how a document is cut into numbered chunks
(`chunks`), the prompt text a model sees (`prompts`), the executor with ProX's decision rules
(`execute`), and a program writer that needs no model (`rule_writer`, with its line rules in
`boilerplate`). Nothing written by a model is ever executed as code: programs are parsed into
literal-only calls and interpreted.
"""
