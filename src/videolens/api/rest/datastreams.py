"""Native REST routes of the data streams capability: streams, shards, putting and reading records.

Record data travels base64-encoded (`data`), or as UTF-8 text (`text`) for hand-written requests.
A shard is read from a position (`position` + `sequence_number` / `timestamp`) or, to continue, from
the `next_iterator` of the previous answer — the same iterators as Kinesis' GetRecords.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field, model_validator

from videolens.api.auth import require_role
from videolens.api.deps import ContainerDep
from videolens.services.auth.models import Role
from videolens.services.datastreams.models import (
    ChildShardInfo,
    PutRecordInput,
    RecordOut,
    ShardInfo,
    StreamInfo,
)
from videolens.services.errors import InvalidParameterError

router = APIRouter(prefix="/v1/datastreams", tags=["datastreams"])

StreamName = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[a-zA-Z0-9_.\-]+$")]
PositionType = Literal[
    "TRIM_HORIZON", "LATEST", "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER", "AT_TIMESTAMP"
]


class CreateDataStream(BaseModel):
    name: StreamName
    #: PROVISIONED streams need it; ON_DEMAND streams start with 4 shards when it is left out
    shard_count: int | None = Field(default=None, ge=1)
    mode: Literal["PROVISIONED", "ON_DEMAND"] = "PROVISIONED"
    tags: dict[str, str] = Field(default_factory=dict)
    max_record_size_kib: int | None = Field(default=None, ge=1024, le=10240)


class DataStream(BaseModel):
    name: str
    arn: str
    stream_id: str
    status: str
    mode: str
    retention_hours: int
    created_at: datetime
    encryption_type: str
    open_shard_count: int
    consumer_count: int
    max_record_size_kib: int
    tags: dict[str, str]


class Shard(BaseModel):
    shard_id: str
    parent_shard_id: str | None
    adjacent_parent_shard_id: str | None
    #: decimal strings: the 128-bit MD5 hash-key range the shard owns
    starting_hash_key: str
    ending_hash_key: str
    starting_sequence_number: str
    #: set once the shard is closed (split or merged away)
    ending_sequence_number: str | None
    open: bool


class DataStreamDetail(DataStream):
    shards: list[Shard]


class DataStreamPage(BaseModel):
    streams: list[DataStream]
    next_token: str | None = None


class RecordIn(BaseModel):
    #: base64 of the record's bytes (or give `text`)
    data: str | None = None
    #: the record as UTF-8 text, instead of `data`
    text: str | None = None
    partition_key: str | None = Field(default=None, min_length=1, max_length=256)
    explicit_hash_key: str | None = Field(default=None, pattern=r"^(0|[1-9]\d{0,38})$")

    @model_validator(mode="after")
    def _one_payload(self) -> RecordIn:
        if (self.data is None) == (self.text is None):
            raise ValueError("give exactly one of data (base64) or text")
        return self

    def to_input(self) -> PutRecordInput:
        if self.text is not None:
            payload = self.text.encode()
        else:
            try:
                payload = base64.b64decode(self.data or "", validate=True)
            except (binascii.Error, ValueError) as exc:
                raise InvalidParameterError(f"data is not valid base64: {exc}") from exc
        return PutRecordInput(payload, self.partition_key, self.explicit_hash_key)


class PutRecordsBody(BaseModel):
    records: list[RecordIn] = Field(min_length=1, max_length=500)


class PutRecordResult(BaseModel):
    shard_id: str | None = None
    sequence_number: str | None = None
    #: ProvisionedThroughputExceededException or InternalFailure when this record was not stored
    error_code: str | None = None
    error_message: str | None = None


class PutRecordsResult(BaseModel):
    failed_record_count: int
    records: list[PutRecordResult]


class Record(BaseModel):
    sequence_number: str
    partition_key: str
    #: base64 of the record's bytes
    data: str
    arrival: datetime


class ChildShard(BaseModel):
    shard_id: str
    parent_shards: list[str]
    starting_hash_key: str
    ending_hash_key: str


class RecordsPage(BaseModel):
    records: list[Record]
    #: pass as `iterator` to read on; null once a closed shard was read to its end
    next_iterator: str | None
    millis_behind_latest: int
    #: at a closed shard's end: where its records continue
    child_shards: list[ChildShard] | None = None


def stream_doc(info: StreamInfo) -> DataStream:
    return DataStream(
        name=info.name,
        arn=info.arn,
        stream_id=info.stream_id,
        status=info.status,
        mode=info.mode,
        retention_hours=info.retention_hours,
        created_at=datetime.fromtimestamp(info.created_at, UTC),
        encryption_type=info.encryption_type,
        open_shard_count=info.open_shard_count,
        consumer_count=info.consumer_count,
        max_record_size_kib=info.max_record_size_kib,
        tags=info.tags,
    )


def shard_doc(shard: ShardInfo) -> Shard:
    return Shard(
        shard_id=shard.shard_id,
        parent_shard_id=shard.parent_shard_id,
        adjacent_parent_shard_id=shard.adjacent_parent_shard_id,
        starting_hash_key=str(shard.starting_hash_key),
        ending_hash_key=str(shard.ending_hash_key),
        starting_sequence_number=shard.starting_sequence_number,
        ending_sequence_number=shard.ending_sequence_number,
        open=shard.is_open,
    )


def record_doc(record: RecordOut) -> Record:
    return Record(
        sequence_number=record.sequence_number,
        partition_key=record.partition_key,
        data=base64.b64encode(record.data).decode(),
        arrival=datetime.fromtimestamp(record.arrival, UTC),
    )


def child_doc(child: ChildShardInfo) -> ChildShard:
    return ChildShard(
        shard_id=child.shard_id,
        parent_shards=child.parent_shards,
        starting_hash_key=str(child.starting_hash_key),
        ending_hash_key=str(child.ending_hash_key),
    )


def all_shards(c: ContainerDep, name: str) -> list[Shard]:
    shards: list[Shard] = []
    token: str | None = None
    while True:
        page, token = c.datastreams.list_shards(None if token else name, next_token=token, max_results=1000)
        shards += [shard_doc(s) for s in page]
        if not token:
            return shards


@router.post(
    "",
    status_code=201,
    response_model=DataStreamDetail,
    summary="Create a data stream",
    dependencies=[require_role(Role.OPERATOR)],
)
def create_stream(body: CreateDataStream, c: ContainerDep) -> DataStreamDetail:
    info = c.datastreams.create_stream(
        body.name,
        body.shard_count,
        mode=body.mode,
        tags=body.tags,
        max_record_size_kib=body.max_record_size_kib,
    )
    return DataStreamDetail(**stream_doc(info).model_dump(), shards=all_shards(c, info.name))


@router.get(
    "", response_model=DataStreamPage, summary="List data streams", dependencies=[require_role(Role.VIEWER)]
)
def list_streams(
    c: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=10000)] = 100,
    next_token: str | None = None,
) -> DataStreamPage:
    streams, _, token = c.datastreams.list_streams(limit=limit, next_token=next_token)
    return DataStreamPage(streams=[stream_doc(s) for s in streams], next_token=token)


@router.get(
    "/{name}",
    response_model=DataStreamDetail,
    summary="Describe a data stream and its shards",
    dependencies=[require_role(Role.VIEWER)],
)
def describe_stream(name: str, c: ContainerDep) -> DataStreamDetail:
    info = c.datastreams.describe_stream_summary(name)
    return DataStreamDetail(**stream_doc(info).model_dump(), shards=all_shards(c, name))


@router.delete(
    "/{name}",
    status_code=204,
    summary="Delete a data stream and its records",
    dependencies=[require_role(Role.OPERATOR)],
)
def delete_stream(name: str, c: ContainerDep, enforce_consumer_deletion: bool = False) -> Response:
    c.datastreams.delete_stream(name, enforce_consumer_deletion=enforce_consumer_deletion)
    return Response(status_code=204)


@router.get(
    "/{name}/shards",
    response_model=list[Shard],
    summary="List a stream's shards",
    dependencies=[require_role(Role.VIEWER)],
)
def list_shards(name: str, c: ContainerDep) -> list[Shard]:
    return all_shards(c, name)


@router.post(
    "/{name}/records",
    response_model=PutRecordsResult,
    summary="Put up to 500 records",
    dependencies=[require_role(Role.OPERATOR)],
)
def put_records(name: str, body: PutRecordsBody, c: ContainerDep) -> PutRecordsResult:
    results = c.datastreams.put_records([r.to_input() for r in body.records], name)
    out = [
        PutRecordResult(
            shard_id=r.shard_id,
            sequence_number=r.sequence_number,
            error_code=r.error_code,
            error_message=r.error_message,
        )
        for r in results
    ]
    return PutRecordsResult(failed_record_count=sum(1 for r in results if r.error_code), records=out)


@router.get(
    "/{name}/shards/{shard_id}/records",
    response_model=RecordsPage,
    summary="Read records of a shard from a position, or on from a previous answer's next_iterator",
    dependencies=[require_role(Role.VIEWER)],
)
def read_records(
    name: str,
    shard_id: str,
    c: ContainerDep,
    position: PositionType = "TRIM_HORIZON",
    sequence_number: Annotated[str | None, Query(pattern=r"^(0|[1-9]\d{0,128})$")] = None,
    timestamp: Annotated[datetime | None, Query(description="ISO 8601 or epoch seconds")] = None,
    iterator: Annotated[str | None, Query(description="next_iterator of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> RecordsPage:
    if iterator is None:
        iterator = c.datastreams.get_shard_iterator(
            shard_id,
            position,
            starting_sequence_number=sequence_number,
            timestamp=_epoch(timestamp),
            name=name,
        )
    page = c.datastreams.get_records(iterator, limit)
    return RecordsPage(
        records=[record_doc(r) for r in page.records],
        next_iterator=page.next_iterator,
        millis_behind_latest=page.millis_behind_latest,
        child_shards=[child_doc(ch) for ch in page.child_shards] if page.child_shards is not None else None,
    )


def _epoch(moment: datetime | None) -> float | None:
    """A query timestamp without a zone is UTC (like AWS), not the server's local time."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
