"""A user's KIT consumer Lambda: the loop of issue 14, verbatim; clients come from the environment.

Module-level names are what the issue's snippet takes from its surroundings (`s3`, `bucket`,
`object_categories`): a Lambda's globals. AWS_ENDPOINT_URL points every boto3 client at videolens.
"""

# ruff: noqa
# (the code, character for character: not restyled, its unused names kept)
import base64
import datetime
import json
import os

import boto3

s3 = boto3.client("s3")
bucket = os.environ["KIT_BUCKET"]
object_categories = ["person"]


# fmt: off
def lambda_handler(event, context):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN201
    for record in event['Records']:
        payload = base64.b64decode(record['kinesis']['data'])
        result = json.loads(payload)
        fragment = result['fragmentMetaData']
        frag_id = fragment[17:-1].split(",")[0].split("=")[1]
        srv_ts = datetime.datetime.fromtimestamp(float(fragment[17:-1].split(",")[1].split("=")[1])/1000)
        frame = result['frameMetaData']
        streamName = result['streamName']
        sageMakerOutput = json.loads(base64.b64decode(result['sageMakerOutput']))
        for i in range(5):
            print("detected object: " + object_categories[int(sageMakerOutput['prediction'][i][0])]
                  + ", with probability: " + str(sageMakerOutput['prediction'][i][1]))
        kv = boto3.client('kinesisvideo')
        ep = kv.get_data_endpoint(StreamName=streamName, APIName='GET_MEDIA_FOR_FRAGMENT_LIST')['DataEndpoint']
        kvam = boto3.client('kinesis-video-archived-media', endpoint_url=ep)
        getmedia = kvam.get_media_for_fragment_list(StreamName=streamName, Fragments=[frag_id])
        s3.put_object(Bucket=bucket, Key=streamName + ".webm", Body=getmedia['Payload'].read())
# fmt: on
