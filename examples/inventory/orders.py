"""Orders: lines of items, totals and discounts."""

import os

from inventory.pricing import apply_discount, with_tax


class Order:
    def __init__(self, customer, items=None):
        self.customer = customer
        self.items = list(items or [])

    def add(self, name, price, quantity=1):
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        self.items.append((name, price, quantity))

    def subtotal(self):
        total = 0
        for _name, price, quantity in self.items:
            # BUG (CG008): overwrites the running total instead of adding to it
            total = price * quantity
        return total

    def discounted(self, rate):
        # BUG (CG002): the arguments are swapped; apply_discount(price, rate) is defined in pricing.py
        return apply_discount(rate, self.subtotal())

    def total(self):
        return with_tax(self.subtotal())


def find_item(items, wanted):
    i = 0
    # BUG (CG004): reads one past the end
    while i <= len(items):
        if items[i][0] == wanted:
            return items[i]
        i += 1
    return None


def save(order, directory):
    # BUG (CG007): the directory is created only when it already exists
    if os.path.isdir(directory):
        os.makedirs(directory)
    path = os.path.join(directory, f"{order.customer}.txt")
    with open(path, "w", encoding="utf-8") as handle:
        for name, price, quantity in order.items:
            handle.write(f"{name}\t{price}\t{quantity}\n")
    return path


def merge(first, second):
    # BUG (CG005): either order may be missing; both must be present to merge
    if first is None and second is None:
        raise ValueError("need two orders to merge")
    merged = Order(first.customer, first.items)
    for item in second.items:
        merged.items.append(item)
    return merged
