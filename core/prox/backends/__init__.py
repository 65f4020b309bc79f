"""Program writers backed by a language model: ProX's refining models (or any causal LM) through
transformers on CPU or GPU (`transformers_backend`), or vLLM on GPU (`vllm_backend`, an optional
extra imported only when chosen). `spec` says which backend and models a stage uses and opens the
writer; `generative` is what both model backends share (prompts, budgets, the chat format).

Importing this package imports neither torch, transformers nor vllm.
"""
