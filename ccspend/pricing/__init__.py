"""Rate cards: what a token cost, when. Pure data and pure functions."""

from ccspend.pricing.card import Price, RateCard, load_card, normalise_model
from ccspend.pricing.cost import Usage, request_cost

__all__ = ["Price", "RateCard", "Usage", "load_card", "normalise_model", "request_cost"]
