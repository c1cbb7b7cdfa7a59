"""The lease interface and its values: a holder claims a key, renews it, checkpoints under it, lets it go.

The fencing token is a counter on the leased key, incremented by every claim or take (every change of
holder) and never reset, not even by a release. Every write of a holder — renew, checkpoint, release,
finish — is conditional on (owner, token): a holder that stalled past its expiry and was taken over
learns so at its next write (False) and must stop; it can never overwrite its successor's checkpoint.
Renew every lease_seconds / 3, consider a lease free once its expiry has passed (or it was released).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Lease:
    """What a holder keeps after a claim: the key, who it is, and its fencing token."""

    key: Any
    owner: str
    token: int


@dataclass(frozen=True)
class LeaseState:
    """A key's lease as stored: its holder (None when free), token, expiry (epoch s), last checkpoint."""

    key: Any
    owner: str | None
    token: int
    expires: float | None
    checkpoint: str | None

    def held(self, now: float) -> bool:
        """Whether someone holds it at `now` (an expired lease is free to take)."""
        return self.owner is not None and self.expires is not None and self.expires >= now


class LeaseStore(Protocol):
    """Leases on a set of keys. Every write of a holder returns False once the lease is no longer its own."""

    lease_seconds: float

    def claim(self, owner: str) -> Lease | None:
        """Take any one free (never held, released or expired) claimable key; None when there is none."""
        ...

    def take(self, key: Any, owner: str) -> Lease | None:
        """Take `key` if it is free (a named lease is created on first take); None when someone holds it."""
        ...

    def renew(self, lease: Lease) -> bool:
        """Extend the expiry by lease_seconds; False when the key is gone or another holder has it now."""
        ...

    def checkpoint(self, lease: Lease, value: str) -> bool:
        """Store the holder's progress (e.g. the last fragment processed) under the fence."""
        ...

    def release(self, lease: Lease) -> bool:
        """Give the key back at once (clean shutdown): the next claimer need not wait for the expiry."""
        ...

    def read(self, key: Any) -> LeaseState | None:
        """The stored lease of `key` (None when the key does not exist)."""
        ...
