"""s3.py ENDPOINT COMMAND ...: the S3 test server's client side, with boto3 (which moto installs).

  ping                     exit 0 when the server answers a ListBuckets, 1 otherwise
  create-bucket BUCKET     creates the bucket with versioning on, so every PUT leaves a version
  list BUCKET              JSON lines, one per object version: key, size, etag (no quotes), version,
                           latest (bool), last_modified (ISO 8601)
  get BUCKET KEY FILE      writes the object's bytes to FILE
  put BUCKET KEY FILE      puts FILE's bytes at KEY; prints the new ETag
Credentials are the fixture's fixed `test`/`test`; region us-east-1. AWS_CA_BUNDLE is ignored.
"""
import json
import os
import sys

os.environ.pop("AWS_CA_BUNDLE", None)
import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402


def client(endpoint):
    return boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test",
        region_name="us-east-1",
        config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1}))


def main():
    endpoint, command, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    s3 = client(endpoint)
    if command == "ping":
        try:
            s3.list_buckets()
        except Exception as error:  # any failure means not ready yet
            print(error, file=sys.stderr)
            return 1
        return 0
    if command == "create-bucket":
        s3.create_bucket(Bucket=args[0])
        s3.put_bucket_versioning(Bucket=args[0], VersioningConfiguration={"Status": "Enabled"})
        return 0
    if command == "list":
        paginator = s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=args[0]):
            for version in page.get("Versions", []):
                print(json.dumps({
                    "key": version["Key"], "size": version["Size"], "etag": version["ETag"].strip('"'),
                    "version": version["VersionId"], "latest": version["IsLatest"],
                    "last_modified": version["LastModified"].isoformat()}))
        return 0
    if command == "get":
        s3.download_file(args[0], args[1], args[2])
        return 0
    if command == "put":
        with open(args[2], "rb") as body:
            response = s3.put_object(Bucket=args[0], Key=args[1], Body=body.read())
        print(response["ETag"].strip('"'))
        return 0
    print("s3.py: unknown command %r" % command, file=sys.stderr)
    return 64


sys.exit(main())
