"""The named-lease table: leases of holders without a row of their own (e.g. processor x stream)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from videolens.backends.metadata.base import Base


class LeaseRow(Base):
    """One named lease: its holder (None: free), fencing token, expiry (epoch s) and checkpoint."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    #: incremented by every take, never reset: the fencing token of the current holder
    token: Mapped[int] = mapped_column(BigInteger, default=0)
    expires: Mapped[float | None] = mapped_column(Float, nullable=True)
    checkpoint: Mapped[str | None] = mapped_column(Text, nullable=True)
