"""How far a top-1 measured on a few images can be from the truth: the Wilson score interval.

A share of n images, k right, is an estimate; its 95 % Wilson interval (Wilson 1927; Brown,
Cai and DasGupta 2001 recommend it over the normal approximation for small n) is where the
true share lies, 19 times out of 20. "0.75 on 12 images" is anywhere from about 0.47 to 0.91.
Every figure on fewer than SMALL images carries its interval.
"""

import math

Z_95 = 1.959964  # the normal quantile of a two-sided 95 % interval
SMALL = 200  # below this many images a share is shown with its interval


def wilson(share, count, z=Z_95):
    """(low, high) of the 95 % Wilson interval of `share` measured on `count` images."""
    if count <= 0:
        return 0.0, 1.0
    z2 = z * z
    centre = (share + z2 / (2 * count)) / (1 + z2 / count)
    half = z / (1 + z2 / count) * math.sqrt(share * (1 - share) / count + z2 / (4 * count * count))
    return max(0.0, centre - half), min(1.0, centre + half)


def describe(share, count, digits=4):
    """"0.7500 on 12 images (95 % interval 0.4677-0.9111)"; the interval only below SMALL images."""
    text = f"{share:.{digits}f} on {count:,} images"
    if count < SMALL:
        low, high = wilson(share, count)
        text += f" (95 % interval {low:.{digits}f}-{high:.{digits}f})"
    return text
