"""ProX refinement on Ray: the `refined_documents` stage.

`config` (what a run does), `inputs` (which documents enter, from dedup/documents and, when asked,
PreSelect's selection), `rows` (a batch's outcomes as the contract's Arrow tables), `actor` (the
actor that writes programs, executes them and writes part files), `stage` (read, refine, commit
both tables), `checks` (what the asset checks verify on the committed tables).
"""
