"""Build the small models the platform serves in its demo and tests, here, from nothing.

No weights can be downloaded on the hosts suanli is tested on, so the model services path
(a real llama.cpp server answering OpenAI-compatible requests, real tokens metered) serves a
model built by this package: a tiny Llama-architecture network with seeded random weights,
written as GGUF with the ``gguf`` package, and a byte-level BPE tokenizer trained with
``tokenizers`` on this repository's own documentation and embedded in the file, so that
llama.cpp tokenizes and detokenizes for real. Same recipe, same bytes: the output is named by
the recipe's hash and rebuilt only when the recipe or its corpus changes.

It stands alone (an import contract keeps it so): it runs in the inference server's own
environment (``scripts/inference.sh``: /opt/suanli/llama), which has ``gguf``, ``tokenizers``
and NumPy but not the platform.
"""
