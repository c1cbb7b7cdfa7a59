"""Every wrong-state or wrong-input call answers MediaLive's own error (code and status), never a 500."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import pytest

from tests.channels.conftest import hls_encoder_settings, make_channel, wait_state


def _error(call: Any, **kwargs: Any) -> tuple[str, int]:
    with pytest.raises(botocore.exceptions.ClientError) as info:
        call(**kwargs)
    response = info.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_running_channel_refuses_update_start_delete(medialive: Any, s3: Any) -> None:
    s3.create_bucket(Bucket="states")
    cid, _url = make_channel(medialive, "states", "bob")
    input_id = medialive.describe_channel(ChannelId=cid)["InputAttachments"][0]["InputId"]
    assert _error(medialive.stop_channel, ChannelId=cid) == ("ConflictException", 409)
    assert _error(medialive.delete_input, InputId=input_id) == ("ConflictException", 409)

    medialive.start_channel(ChannelId=cid)
    wait_state(medialive, cid, "RUNNING")
    assert _error(medialive.start_channel, ChannelId=cid) == ("ConflictException", 409)
    assert _error(medialive.update_channel, ChannelId=cid, Name="renamed") == ("ConflictException", 409)
    assert _error(medialive.delete_channel, ChannelId=cid) == ("ConflictException", 409)
    assert medialive.describe_channel(ChannelId=cid)["Name"] == "bob"

    medialive.stop_channel(ChannelId=cid)
    wait_state(medialive, cid, "IDLE")
    updated = medialive.update_channel(ChannelId=cid, Name="renamed")["Channel"]
    assert (updated["Name"], updated["State"]) == ("renamed", "IDLE")
    deleted = medialive.delete_channel(ChannelId=cid)
    assert deleted["State"] == "DELETING"
    assert medialive.describe_channel(ChannelId=cid)["State"] == "DELETED"
    assert cid not in [c["Id"] for c in medialive.list_channels()["Channels"]]
    assert _error(medialive.start_channel, ChannelId=cid) == ("ConflictException", 409)
    # the channel is gone: its input is detached and can be deleted now
    assert medialive.describe_input(InputId=input_id)["State"] == "DETACHED"
    medialive.delete_input(InputId=input_id)
    assert _error(medialive.describe_input, InputId=input_id) == ("NotFoundException", 404)


def test_missing_resources_are_not_found(medialive: Any) -> None:
    assert _error(medialive.describe_channel, ChannelId="9999999") == ("NotFoundException", 404)
    assert _error(medialive.start_channel, ChannelId="9999999") == ("NotFoundException", 404)
    assert _error(medialive.stop_channel, ChannelId="9999999") == ("NotFoundException", 404)
    assert _error(medialive.delete_channel, ChannelId="9999999") == ("NotFoundException", 404)
    assert _error(medialive.delete_input, InputId="9999999") == ("NotFoundException", 404)
    assert _error(medialive.describe_input_security_group, InputSecurityGroupId="1") == (
        "NotFoundException",
        404,
    )


def test_bad_inputs_are_bad_requests(medialive: Any) -> None:
    assert _error(medialive.create_input_security_group, WhitelistRules=[{"Cidr": "300.1.2.3/8"}]) == (
        "BadRequestException",
        400,
    )
    # a push input without a security group would take pushes from anyone: refused
    assert _error(
        medialive.create_input, Name="x", Type="RTMP_PUSH", Destinations=[{"StreamName": "live/x"}]
    ) == ("BadRequestException", 400)
    sg = medialive.create_input_security_group(WhitelistRules=[{"Cidr": "10.0.0.0/8"}])["SecurityGroup"]["Id"]
    assert _error(
        medialive.create_input,
        Name="x",
        Type="RTMP_PUSH",
        Destinations=[{"StreamName": "no-slash"}],
        InputSecurityGroups=[sg],
    ) == ("BadRequestException", 400)
    assert _error(medialive.create_input, Name="x", Type="UDP_PUSH") == ("BadRequestException", 400)
    assert _error(medialive.create_input, Name="x", Type="URL_PULL", Sources=[{"Url": "ftp://cam/x"}]) == (
        "BadRequestException",
        400,
    )
    inp = medialive.create_input(
        Name="y", Type="RTMP_PUSH", Destinations=[{"StreamName": "live/y"}], InputSecurityGroups=[sg]
    )["Input"]
    assert _error(medialive.delete_input_security_group, InputSecurityGroupId=sg) == (
        "ConflictException",
        409,
    )
    medialive.delete_input(InputId=inp["Id"])
    medialive.delete_input_security_group(InputSecurityGroupId=sg)


def test_unprocessable_settings(medialive: Any) -> None:
    sg = medialive.create_input_security_group(WhitelistRules=[{"Cidr": "10.0.0.0/8"}])["SecurityGroup"]["Id"]
    inp = medialive.create_input(
        Name="z", Type="RTMP_PUSH", Destinations=[{"StreamName": "live/z"}], InputSecurityGroups=[sg]
    )["Input"]
    good = {
        "Name": "z",
        "InputAttachments": [{"InputId": inp["Id"]}],
        "Destinations": [{"Id": "dest", "Settings": [{"Url": "s3ssl://nowhere/live/z"}]}],
        "EncoderSettings": hls_encoder_settings([("_360p", 640, 360, 800_000)]),
    }
    odd = hls_encoder_settings([("_odd", 641, 360, 800_000)])
    no_hls = {**good["EncoderSettings"], "OutputGroups": []}
    wrong_dest = {**good, "Destinations": [{"Id": "other", "Settings": [{"Url": "s3ssl://b/k"}]}]}
    for bad in (
        {**good, "EncoderSettings": odd},
        {**good, "EncoderSettings": no_hls},
        wrong_dest,
        {**good, "InputAttachments": [{"InputId": "1234567"}]},
        {**good, "Destinations": [{"Id": "dest", "Settings": [{"Url": "rtmp://elsewhere/x"}]}]},
        {**good, "Tags": {"videolens:anonymize": "sparkles"}},
    ):
        assert _error(medialive.create_channel, **bad) == ("UnprocessableEntityException", 422), bad
    # a destination bucket that does not exist is found when the channel starts
    cid = medialive.create_channel(**good)["Channel"]["Id"]
    wait_state(medialive, cid, "IDLE")
    assert _error(medialive.start_channel, ChannelId=cid) == ("UnprocessableEntityException", 422)
    assert medialive.describe_channel(ChannelId=cid)["State"] == "IDLE"
    # the input is taken: a second channel on it is refused
    assert _error(medialive.create_channel, **good) == ("UnprocessableEntityException", 422)
