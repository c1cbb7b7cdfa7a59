"""Tables of the channels capability: security groups, inputs, channels (leased), their segment log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from videolens.backends.metadata.base import Base


class ChannelSecurityGroupRow(Base):
    __tablename__ = "channel_security_groups"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    arn: Mapped[str] = mapped_column(String(256))
    cidrs: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[float] = mapped_column(Float)  # epoch seconds


class ChannelInputRow(Base):
    __tablename__ = "channel_inputs"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    arn: Mapped[str] = mapped_column(String(256))
    name: Mapped[str] = mapped_column(String(256))
    type: Mapped[str] = mapped_column(String(16))
    #: push endpoints: [{"stream_name": "app/instance", "key": stream key}]
    destinations: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    security_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: the one channel it is attached to (None: DETACHED); set by a conditional update, so two nodes
    #: attaching the same input at once cannot both succeed
    attached_channel: Mapped[str | None] = mapped_column(String(16), nullable=True)
    tags: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[float] = mapped_column(Float)


class ChannelPushNameRow(Base):
    """A push StreamName, unique across the cluster (the primary key refuses a second input using it)."""

    __tablename__ = "channel_push_names"

    stream_name: Mapped[str] = mapped_column(String(256), primary_key=True)
    input_id: Mapped[str] = mapped_column(String(16), ForeignKey("channel_inputs.id", ondelete="CASCADE"))


class ChannelRow(Base):
    """A channel: its reported state, the state asked for (Start/Stop), and the lease of its runner."""

    __tablename__ = "channels"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    state: Mapped[str] = mapped_column(String(16))
    #: RUNNING after StartChannel, IDLE after StopChannel: what the runner supervisors work towards
    desired: Mapped[str] = mapped_column(String(16), default="IDLE")
    created_at: Mapped[float] = mapped_column(Float)
    #: every other field of the channel (destinations, encoder settings, tags, keys ...)
    doc: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: the node running it now (None: nobody); the token fences a node that was taken over
    owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_token: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    lease_expires_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: host:port of the RTMP door of the node running it (where its pusher must connect)
    runner_endpoint: Mapped[str | None] = mapped_column(String(256), nullable=True)


Index("ix_channels_desired", ChannelRow.desired)


class ChannelSegmentRow(Base):
    """One HLS segment of a channel's current run, written under the runner's lease: a node that takes
    the channel over continues the playlists from here (and stop writes the complete VOD playlist)."""

    __tablename__ = "channel_segments"

    channel_id: Mapped[str] = mapped_column(
        String(16), ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True
    )
    rendition: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sequence: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    uri: Mapped[str] = mapped_column(String(512))
    duration_s: Mapped[float] = mapped_column(Float)
    discontinuity: Mapped[bool] = mapped_column(Boolean, default=False)
