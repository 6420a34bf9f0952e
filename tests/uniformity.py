"""
A test of uniformity for drawn values.
"""

from __future__ import annotations

import math
from collections import Counter


def chiSquareOk(counts: Counter[int], categories: int, total: int) -> bool:
    """
    Whether C{counts} pass a chi-square test of uniformity at the 0.1%
    level (the critical value by the Wilson-Hilferty approximation).
    """
    expected = total / categories
    statistic = sum(
        (counts.get(c, 0) - expected) ** 2 / expected for c in range(categories)
    )
    k = categories - 1
    z = 3.09  # the 99.9th percentile of the standard normal
    critical = k * (1 - 2 / (9 * k) + z * math.sqrt(2 / (9 * k))) ** 3
    return statistic < critical
