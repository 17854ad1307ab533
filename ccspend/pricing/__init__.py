"""Rate cards: what a token cost, when. Pure data and pure functions.

Attributes load lazily so that ``ccspend.pricing.names`` (standard library
only, used by the status line) does not drag in the card loader and pydantic.
"""

from __future__ import annotations

# ``typing`` costs ~2.6 ms to import: the status line and cap hook, which come
# through here for ``names``, never load it. Type checkers read the block below.
TYPE_CHECKING = False

__all__ = ["Price", "RateCard", "Usage", "load_card", "normalise_model", "request_cost"]

if TYPE_CHECKING:
    from ccspend.pricing.card import Price, RateCard, load_card
    from ccspend.pricing.cost import Usage, request_cost
    from ccspend.pricing.names import normalise_model


def __getattr__(name: str):
    if name in ("Price", "RateCard", "load_card"):
        from ccspend.pricing import card

        return getattr(card, name)
    if name in ("Usage", "request_cost"):
        from ccspend.pricing import cost

        return getattr(cost, name)
    if name == "normalise_model":
        from ccspend.pricing.names import normalise_model

        return normalise_model
    raise AttributeError(name)
