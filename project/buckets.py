"""
Bucket set-up shared by ``make run`` (SeaweedFS), the ``init_bucket``
command (the compose stack's one-shot service) and the tests.
"""

from botocore.exceptions import ClientError


def cors_rule(origins):
    """The CORS rule browsers need to POST to the bucket and read images."""
    return {
        "AllowedOrigins": list(origins),
        "AllowedMethods": ["GET", "HEAD", "POST"],
        "AllowedHeaders": ["*"],
        "ExposeHeaders": ["ETag", "Location"],
        "MaxAgeSeconds": 3600,
    }


def ensure_bucket(client, name, cors_origins=(), region=None):
    """Create bucket ``name`` unless it exists, then set its CORS for
    ``cors_origins`` (if any). Safe to repeat. Returns whether it was
    created."""
    params = {"Bucket": name}
    if region and region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        client.create_bucket(**params)
        created = True
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
        created = False
    if cors_origins:
        client.put_bucket_cors(
            Bucket=name, CORSConfiguration={"CORSRules": [cors_rule(cors_origins)]}
        )
    return created


RULE_PREFIX = "uploads-incoming-"


def incoming_rules(prefixes, days):
    """Lifecycle rules expiring objects left under ``prefixes`` after ``days``."""
    return [
        {
            "ID": f"{RULE_PREFIX}{prefix.strip('/').replace('/', '-')}"[:255],
            "Status": "Enabled",
            "Filter": {"Prefix": prefix},
            "Expiration": {"Days": days},
        }
        for prefix in prefixes
    ]


def set_incoming_expiry(client, bucket, prefixes, days):
    """Replace this app's lifecycle rules with ``incoming_rules``; rules of
    anyone else are kept. ``days`` of 0 removes this app's rules."""
    try:
        rules = client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchLifecycleConfiguration":
            raise
        rules = []
    kept = [rule for rule in rules if not rule.get("ID", "").startswith(RULE_PREFIX)]
    ours = incoming_rules(prefixes, days) if days else []
    if kept or ours:
        client.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": kept + ours}
        )
    elif rules:
        client.delete_bucket_lifecycle(Bucket=bucket)
    return ours
