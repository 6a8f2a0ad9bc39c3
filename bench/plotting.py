"""The benchmarks' one way to get matplotlib (optional: without it they write no plot)."""

from __future__ import annotations


def pyplot(who):
    """matplotlib.pyplot with a file-only backend, or None (saying so) when matplotlib is missing."""
    try:
        import matplotlib  # pylint: disable=import-outside-toplevel
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
    except ImportError:
        print('%s: matplotlib missing, no plot' % who)
        return None
    return plt
