"""Prices and discounts."""

TAX_RATE = 0.2


def apply_discount(price, rate):
    """Return ``price`` reduced by ``rate`` (0.1 means 10% off)."""
    if rate < 0 or rate > 1:
        raise ValueError(f"discount rate out of range: {rate}")
    return price * (1 - rate)


def unit_price(total, quantity):
    if quantity == 0:
        raise ZeroDivisionError("no items")
    return total / quantity


def with_tax(net):
    return net * (1 + TAX_RATE)


def rectangle_area(width, height):
    # BUG (CG001): width used twice
    return width * width
