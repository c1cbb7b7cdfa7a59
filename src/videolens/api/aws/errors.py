"""Errors of the AWS wire layer: one with an AWS code, and the server-side validation failure."""

from __future__ import annotations


class AwsError(Exception):
    """An error already expressed in AWS terms; the codec of the service encodes it as is."""

    def __init__(self, code: str, message: str, status: int = 400, sender_fault: bool = True) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.sender_fault = sender_fault


class ParamValidationError(Exception):
    """The request does not match the operation's input shape (max length, pattern, enum, range...).

    The dispatcher maps it to the service's own validation code (InvalidParameterException for
    Rekognition, InvalidArgumentException for Kinesis/KVS, InvalidParameter for SNS...).
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
