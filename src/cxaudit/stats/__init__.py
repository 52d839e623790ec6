"""Statistics for audits: intervals, significance tests, FDR control, bootstrap.

Everything here works on small count tables (per-group confusion cells), so it
is cheap no matter how many rows were audited.
"""

from cxaudit.stats.bootstrap import multinomial_replicates, percentile_interval
from cxaudit.stats.intervals import wilson_interval
from cxaudit.stats.significance import (
    benjamini_hochberg,
    compare_proportions,
    fisher_exact_test,
    minimum_detectable_effect,
    two_proportion_z_test,
)

__all__ = [
    "benjamini_hochberg",
    "compare_proportions",
    "fisher_exact_test",
    "minimum_detectable_effect",
    "multinomial_replicates",
    "percentile_interval",
    "two_proportion_z_test",
    "wilson_interval",
]
