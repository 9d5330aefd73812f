"""The usage ledger: one row per proxied AI request, kept in the
configuration store's database.

- :mod:`lockgate.usage.rows`: what one AI call reports (:class:`AICall`) and
  the row the ledger keeps (:data:`COLUMNS`);
- :mod:`lockgate.usage.storage`: the storage seam (:class:`UsageStorage`)
  and :func:`open_usage_storage`, which picks the implementation that lives
  beside the configuration store (SQLite today);
- :mod:`lockgate.usage.writer`: batches rows off the request path in each
  proxy worker (:class:`LedgerWriter`);
- :mod:`lockgate.usage.queries`: the one place the Admin API (and through
  it the command line and the dashboard) reads totals and recent rows.
"""

from lockgate.usage.rows import COLUMNS, AICall
from lockgate.usage.storage import UsageStorage, open_usage_storage
from lockgate.usage.writer import LedgerWriter

__all__ = ["COLUMNS", "AICall", "LedgerWriter", "UsageStorage", "open_usage_storage"]
