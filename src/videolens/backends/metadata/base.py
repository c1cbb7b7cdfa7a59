"""The declarative base shared by every metadata table module."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, event, inspect
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


@event.listens_for(Base, "load", propagate=True)
@event.listens_for(Base, "refresh", propagate=True)
def _aware_datetimes(target: Base, *_args: Any) -> None:
    """SQLite drops the zone of `DateTime(timezone=True)`; we store UTC, so loaded values say so."""
    state = inspect(target)
    for column in state.mapper.columns:
        if isinstance(column.type, DateTime) and column.type.timezone and column.key in state.dict:
            value = state.dict[column.key]
            if isinstance(value, datetime) and value.tzinfo is None:
                state.dict[column.key] = value.replace(tzinfo=UTC)
