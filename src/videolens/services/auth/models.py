"""Roles of the native and AWS doors, the identity a request authenticates as, and role checks."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.StrEnum):
    """Ordered from weakest to strongest: each role may do everything the weaker ones may."""

    VIEWER = "viewer"  # read-only: GET routes, media playback
    OPERATOR = "operator"  # create / modify / delete resources, start jobs
    ADMIN = "admin"  # everything, including keys and tokens

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, needed: Role) -> bool:
        """True when a holder of this role may call something that needs `needed`."""
        return self.rank >= needed.rank

    @classmethod
    def parse(cls, value: str) -> Role:
        try:
            return cls(value.strip().lower())
        except ValueError:
            names = ", ".join(r.value for r in cls)
            raise ValueError(f"unknown role {value!r}; one of: {names}") from None


_RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


@dataclass(frozen=True)
class Identity:
    """Who a request is: an API token, an access key (SigV4), or the dev-mode stand-in."""

    kind: str  # "token" | "access_key" | "dev"
    id: str  # token id or access key id; never a secret
    role: Role


DEV_IDENTITY = Identity("dev", "dev", Role.ADMIN)

#: AWS operation names that only read (or compute without changing state): viewers may call them
_READ_PREFIXES = ("Get", "List", "Describe", "Search", "Head", "Detect", "Compare")


def aws_operation_role(operation: str) -> Role:
    """The role an AWS-door operation needs: reads for viewers, every change for operators."""
    if operation.startswith(_READ_PREFIXES):
        return Role.VIEWER
    return Role.OPERATOR
