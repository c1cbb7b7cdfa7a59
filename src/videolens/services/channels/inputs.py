"""Input security groups and inputs: CIDR allowlists, push stream names with their keys, pull sources."""

from __future__ import annotations

import ipaddress
import re
import secrets

from videolens.services.channels.models import INPUT_TYPES, PUSH_TYPES, Input, InputDestination, SecurityGroup
from videolens.services.channels.repository import ChannelRepository
from videolens.services.errors import InvalidParameterError, NotFoundError

#: MediaLive's "app/instance" push stream name
STREAM_NAME = re.compile(r"^[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+$")
PULL_SCHEMES = {
    "RTMP_PULL": ("rtmp://", "rtmps://"),
    "URL_PULL": ("http://", "https://", "rtsp://", "rtsps://"),
}


def parse_cidrs(cidrs: list[str]) -> list[str]:
    out = []
    for cidr in cidrs:
        try:
            out.append(str(ipaddress.ip_network(cidr, strict=False)))
        except ValueError as exc:
            raise InvalidParameterError(f"invalid CIDR {cidr!r}") from exc
    return out


class Inputs:
    """Security groups and inputs over the channel records (channels attach and detach inputs)."""

    def __init__(self, store: ChannelRepository, region: str, account: str) -> None:
        self.store = store
        self.region = region
        self.account = account

    def arn(self, kind: str, resource_id: str) -> str:
        return f"arn:aws:medialive:{self.region}:{self.account}:{kind}:{resource_id}"

    # -- security groups ----------------------------------------------------------------------------
    def create_group(self, cidrs: list[str], tags: dict[str, str] | None = None) -> SecurityGroup:
        rules = parse_cidrs(cidrs)
        gid = self.store.new_id()
        group = SecurityGroup(gid, self.arn("inputSecurityGroup", gid), rules, dict(tags or {}))
        self.store.add_group(group)
        return group

    def groups(self) -> list[SecurityGroup]:
        return self.store.groups()

    def group(self, gid: str) -> SecurityGroup:
        group = self.store.group(gid)
        if group is None:
            raise NotFoundError(f"input security group {gid} not found")
        return group

    def update_group(self, gid: str, cidrs: list[str] | None, tags: dict[str, str] | None) -> SecurityGroup:
        group = self.group(gid)
        if cidrs is not None:
            group.cidrs = parse_cidrs(cidrs)
        if tags is not None:
            group.tags = dict(tags)
        self.store.save_group(group)
        return group

    def group_inputs(self, gid: str) -> list[str]:
        return self.store.group_inputs(gid)

    def delete_group(self, gid: str) -> None:
        self.group(gid)
        self.store.delete_group(gid)

    # -- inputs -------------------------------------------------------------------------------------
    def create_input(
        self,
        name: str,
        input_type: str,
        *,
        stream_names: list[str],
        sources: list[str],
        security_groups: list[str],
        tags: dict[str, str] | None = None,
    ) -> Input:
        if input_type not in INPUT_TYPES:
            raise InvalidParameterError(
                f"input type {input_type} is not supported (one of {', '.join(INPUT_TYPES)})"
            )
        destinations: list[InputDestination] = []
        if input_type in PUSH_TYPES:
            if not 1 <= len(stream_names) <= 2:
                raise InvalidParameterError(f"{input_type} needs one or two Destinations with a StreamName")
            if not security_groups:
                raise InvalidParameterError(f"{input_type} needs an input security group")
            for stream_name in stream_names:
                if not STREAM_NAME.match(stream_name):
                    raise InvalidParameterError(
                        f"StreamName must look like app/instance, got {stream_name!r}"
                    )
                if self.find_push(stream_name) is not None:
                    raise InvalidParameterError(f"StreamName {stream_name} is used by another input")
                destinations.append(InputDestination(stream_name, secrets.token_urlsafe(18)))
        else:
            if not sources:
                raise InvalidParameterError(f"{input_type} needs Sources with a Url")
            for url in sources:
                if not url.startswith(PULL_SCHEMES[input_type]):
                    raise InvalidParameterError(f"{input_type} source {url!r} has an unsupported scheme")
        for gid in security_groups:
            self.group(gid)
        iid = self.store.new_id()
        item = Input(
            iid,
            self.arn("input", iid),
            name,
            input_type,
            destinations,
            list(sources),
            list(security_groups),
            [],
            dict(tags or {}),
        )
        self.store.add_input(item)
        return item

    def inputs(self) -> list[Input]:
        return self.store.inputs()

    def input(self, iid: str) -> Input:
        item = self.store.input(iid)
        if item is None:
            raise NotFoundError(f"input {iid} not found")
        return item

    def update_input(self, iid: str, name: str | None, security_groups: list[str] | None) -> Input:
        item = self.input(iid)
        if security_groups is not None:
            for gid in security_groups:
                self.group(gid)
            if item.type in PUSH_TYPES and not security_groups:
                raise InvalidParameterError(f"{item.type} needs an input security group")
            item.security_groups = list(security_groups)
        if name is not None:
            item.name = name
        self.store.save_input(item)
        return item

    def delete_input(self, iid: str) -> None:
        self.input(iid)
        self.store.delete_input(iid)

    def find_push(self, stream_name: str) -> tuple[Input, InputDestination] | None:
        return self.store.find_push(stream_name)

    def peer_allowed(self, item: Input, peer: str) -> bool:
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        for gid in item.security_groups:
            group = self.store.group(gid)
            for cidr in group.cidrs if group is not None else []:
                if address in ipaddress.ip_network(cidr):
                    return True
        return False
