"""AWS-wire-compatible facades: one module per AWS service on one generic, model-driven codec layer.

How it fits together
--------------------
`dispatch.AwsDispatcher` is ASGI middleware around the FastAPI app (see `api/app.py`). A request
that carries SigV4 (an `Authorization: AWS4-HMAC-SHA256 ...` header, a presigned `X-Amz-Credential`
query, or a legacy S3 `AWSAccessKeyId=&Signature=` URL) is handled here; everything else falls
through to the native routes (`/v1/...`, `/healthz`, `/docs`). Routing: the credential scope's
service (`rekognition`, `s3`, `sns`, `kinesis`, `kinesisvideo`) picks the registered services, then
the protocol's key picks the operation: `X-Amz-Target` (json), `Action` (query), method + path +
sub-resource (rest-json / rest-xml), all read from botocore's service models (`service_models.py`).

Per request the dispatcher: reads the body (streaming-payload operations excepted), checks SigV4
(secure mode) → parses the wire request into a plain dict of input members (`codec_*.py`: blobs
decoded to bytes, timestamps to aware datetimes, uri/query/header members bound) → validates it
against the input shape (`validate.py`: required, types, min/max lengths and values, enums,
patterns) → calls the handler → encodes the returned dict by the output shape (json: epoch
seconds and base64; xml: ISO-8601; headers: RFC 1123; unknown output members are a bug and fail
loudly) → or encodes the error in the protocol's exact format with a request-id header.

Writing a service module (e.g. `sns.py`, `kinesisvideo.py`)
-----------------------------------------------------------
Export `SERVICE` (or a list `SERVICES`) from any module of this package; it is discovered
automatically::

    from videolens.api.aws.registry import AwsContext, AwsService
    from videolens.services.errors import AlreadyExistsError, InvalidParameterError, NotFoundError

    def create_topic(ctx: AwsContext, params: dict) -> dict:
        topic = ctx.container.events.create_topic(params["Name"], params.get("Attributes") or {})
        return {"TopicArn": topic.arn}          # members of the operation's output shape only

    SERVICE = AwsService(
        model_name="sns",                        # botocore client name
        handlers={"CreateTopic": create_topic},  # operation name → handler
        error_map={NotFoundError: "NotFoundException", InvalidParameterError: "InvalidParameterException"},
        validation_error="InvalidParameterException",  # code for inputs breaking the model's constraints
    )

Handlers:
- `def handler(ctx, params) -> dict` (sync: run in the threadpool) or `async def` (run on the loop).
- `params` holds the input members by their model names (`CollectionId`, `Image.Bytes` as bytes...).
- `ctx` (`registry.AwsContext`): `container`, `settings`, `request_id`, `service`, `operation`,
  `access_key`, `region`, `account_id`, `headers`, `base_url` (scheme://host the client used, for
  URLs you return), `status` (set it to override the success status, e.g. 206), and `body`: for
  operations with a streaming input payload (S3 PutObject/UploadPart) a `payload.RequestBody` to
  iterate once in a sync handler (aws-chunked framing removed, SHA-256/CRC verified at its end).
- Streaming outputs (GetMedia, GetClip, GetObject `Payload`/`Body`): return bytes, a sync iterator
  of bytes (pulled in the threadpool) or an async iterator (live tails); header-bound members such as
  `ContentType` become headers.
- Errors: raise the typed exceptions of `services/errors.py`; `error_map` maps a class (closest in
  the MRO wins) to the AWS code, or `(code, status)`; the status otherwise comes from the model
  (KVS ResourceNotFoundException → 404, SNS NotFound → 404) or is 400. SNS codes may be given by
  shape name (`NotFoundException`): the codec sends the wire code (`NotFound`). `errors.AwsError(code,
  message, status)` sends any code as is. Unexpected exceptions → 500 `internal_error` code.
- `prevalidate(op_name, params)` runs before the generic validation, for checks whose AWS error
  differs from the validation code. `raw_routes={"/putMedia": handler}` takes over an ASGI
  request after SigV4 (payload hash: the `x-amz-content-sha256` header or the empty-string hash),
  for wire contracts botocore does not model (KVS PutMedia's two-way stream).

Auth modes (`settings.effective_auth_mode`): "dev" accepts any access key without checking the
signature (default on a loopback bind); "secure" verifies SigV4 against the keys of
`services/auth/keys.py` (default on any other bind address).
"""
