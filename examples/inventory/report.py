"""Text reports over orders."""

from inventory.orders import Order


def format_line(name, price, quantity):
    return f"{name:<20} {quantity:>4} x {price:>8.2f}"


def render(order: Order) -> str:
    lines = [f"Order for {order.customer}"]
    for name, price, quantity in order.items:
        lines.append(format_line(name, price, quantity))
    lines.append(f"{'total':<20} {order.total():>15.2f}")
    return "\n".join(lines)


def average_price(order):
    count = len(order.items)
    if count == 0:
        return 0.0
    total = sum(price for _name, price, _quantity in order.items)
    # BUG (CG003): should divide
    return total * count


def last_item(order):
    if not order.items:
        return None
    # BUG (CG006): off by one, the last item is at index -1
    return order.items[len(order.items) - 0]
