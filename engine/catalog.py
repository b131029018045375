"""Products, their options and price tiers, and suppliers (상품 / 공급처)."""
from __future__ import annotations

from peewee import JOIN

from engine.models import Product, ProductOption, Supplier


def search_options(keyword: str = "", include_inactive: bool = False):
    """Options matching a product name, option name or code (seed: 상품 검색 dialog)."""
    query = (ProductOption.select(ProductOption, Product, Supplier)
             .join(Product).join(Supplier, JOIN.LEFT_OUTER)
             .order_by(Product.code, ProductOption.code))
    if not include_inactive:
        query = query.where((Product.active == True) & (ProductOption.active == True))  # noqa: E712
    for word in (keyword or "").split():
        like = f"%{word}%"
        query = query.where((Product.name ** like) | (ProductOption.name ** like)
                            | (Product.code ** like) | (ProductOption.code ** like))
    return query
