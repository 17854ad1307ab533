"""Time-based views of spend: 5-hour billing blocks, burn rates, projections. Pure functions."""
