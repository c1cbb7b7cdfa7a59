"""Leases with fencing tokens (the KCL model): one holder at a time per key, every holder write fenced.

`base.py` is the interface and its value types; `sql.py` the implementation on the metadata store
(PostgreSQL `FOR UPDATE SKIP LOCKED`, SQLite conditional UPDATE). Used by the job queue, the stream
pulls, and any holder of a named lease (`leases` table) such as a per-(processor, stream) checkpoint.
"""

from videolens.backends.leases.base import Lease, LeaseState, LeaseStore
from videolens.backends.leases.sql import LeaseTable, SqlLeaseStore, named_lease_table

__all__ = ["Lease", "LeaseState", "LeaseStore", "LeaseTable", "SqlLeaseStore", "named_lease_table"]
