"""A tiny inventory package."""

from .pricing import apply_discount, unit_price

__all__ = ["apply_discount", "unit_price"]
