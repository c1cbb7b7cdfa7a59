"""Stream settings of the data streams capability: retention, tags, encryption, capacity mode.

A mixin of `DataStreamsService` (the public entry point), kept apart because these operations only
change a stream's catalog row; they never touch the shard log.
"""

from __future__ import annotations

from collections.abc import Sequence

from videolens.services.datastreams.catalog import Catalog, StreamState
from videolens.services.datastreams.errors import InvalidArgumentError


class StreamSettingsMixin:
    """Retention, tags, encryption and mode of a stream (Kinesis's rules and messages)."""

    catalog: Catalog

    @property
    def account_id(self) -> str:
        return self.catalog.account_id

    def stream_state(self, name: str | None, arn: str | None, *, fresh: bool = False) -> StreamState:
        return self.catalog.get(self.catalog.resolve_name(name, arn), fresh=fresh)

    def _retention(self, hours: int, name: str | None, arn: str | None, *, increase: bool) -> None:
        state = self.stream_state(name, arn, fresh=True)
        if hours < 24:
            raise InvalidArgumentError(
                "Minimum allowed retention period is 24 hours. "
                f"Requested retention period ({hours} hours) is too short."
            )
        if hours > 8760:
            raise InvalidArgumentError(
                "Maximum allowed retention period is 8760 hours. "
                f"Requested retention period ({hours} hours) is too long."
            )
        if increase and hours < state.retention_hours:
            raise InvalidArgumentError(
                f"Requested retention period ({hours} hours) for stream {state.name} can not be shorter than "
                f"existing retention period ({state.retention_hours} hours). Use DecreaseRetentionPeriod API."
            )
        if not increase and hours > state.retention_hours:
            raise InvalidArgumentError(
                f"Requested retention period ({hours} hours) for stream {state.name} can not be longer than "
                f"existing retention period ({state.retention_hours} hours). Use IncreaseRetentionPeriod API."
            )
        self.catalog.update(state.name, retention_hours=hours)

    def increase_retention(self, hours: int, name: str | None = None, arn: str | None = None) -> None:
        self._retention(hours, name, arn, increase=True)

    def decrease_retention(self, hours: int, name: str | None = None, arn: str | None = None) -> None:
        self._retention(hours, name, arn, increase=False)

    def add_tags(self, tags: dict[str, str], name: str | None = None, arn: str | None = None) -> None:
        state = self.stream_state(name, arn, fresh=True)
        merged = {**state.tags, **tags}
        if len(merged) > 50:
            raise InvalidArgumentError(
                f"Failed to add tags to stream {state.name} under account {self.account_id} because a given "
                "stream cannot have more than 50 tags associated with it."
            )
        self.catalog.update(state.name, tags=merged)

    def remove_tags(self, keys: Sequence[str], name: str | None = None, arn: str | None = None) -> None:
        state = self.stream_state(name, arn, fresh=True)
        self.catalog.update(state.name, tags={k: v for k, v in state.tags.items() if k not in set(keys)})

    def list_tags(
        self,
        name: str | None = None,
        arn: str | None = None,
        *,
        exclusive_start_tag_key: str | None = None,
        limit: int = 50,
    ) -> tuple[list[tuple[str, str]], bool]:
        state = self.stream_state(name, arn, fresh=True)
        items = sorted(state.tags.items())
        if exclusive_start_tag_key is not None:
            items = [kv for kv in items if kv[0] > exclusive_start_tag_key]
        return items[:limit], len(items) > limit

    def start_encryption(
        self, encryption_type: str, key_id: str, name: str | None = None, arn: str | None = None
    ) -> None:
        """Recorded and reported (EncryptionType KMS); data at rest is not encrypted by videolens."""
        state = self.stream_state(name, arn, fresh=True)
        if encryption_type != "KMS":
            raise InvalidArgumentError("EncryptionType must be KMS.")
        self.catalog.update(state.name, encryption_type="KMS", key_id=key_id)

    def stop_encryption(
        self, encryption_type: str, key_id: str, name: str | None = None, arn: str | None = None
    ) -> None:
        state = self.stream_state(name, arn, fresh=True)
        self.catalog.update(state.name, encryption_type="NONE", key_id=None)

    def update_stream_mode(self, arn: str, mode: str) -> None:
        state = self.stream_state(None, arn, fresh=True)
        self.catalog.update(state.name, mode=mode)
