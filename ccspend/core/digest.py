"""``blake2b``, the one hash the hot paths use, without importing ``hashlib``.

Why: ``hashlib`` loads OpenSSL's bindings (``_hashlib``) to offer algorithms a
report never uses; that cost some 5 ms of every report after a new line, which
hashes only with BLAKE2 (the card tables' digest, the price fingerprints, a log's
first bytes). CPython builds BLAKE2 in (``_blake2``); a build without it falls
back to ``hashlib``'s.
"""

try:
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - every CPython build has it
    from hashlib import blake2b

__all__ = ["blake2b"]
