"""S3 settings in one place: the standard AWS variables, mapped to each engine's own names (pure).

Spark's S3A connector, delta-rs (`storage_options`), pyarrow's S3 filesystem and boto3 each name the
same settings differently. `S3Settings.from_env` reads the standard AWS variables once; the
functions below translate them. Credentials are optional everywhere: when unset, every library
falls back to its own default chain (instance role, profile), which is what a cluster should use.
The secret never appears in a repr, a log line or an error message (`describe` names the rest).

`s3://` and `s3a://` name the same objects: Hadoop's connector is `s3a`, pyarrow and boto3 know
`s3`, delta-rs takes both (a table's log holds relative paths, so both engines agree on a table).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlparse

S3_SCHEMES = ("s3", "s3a")
S3A_FILESYSTEM = "org.apache.hadoop.fs.s3a.S3AFileSystem"


def is_s3_uri(uri: str) -> bool:
    return urlparse(uri).scheme in S3_SCHEMES


def split_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key) of `s3://bucket/key` or `s3a://bucket/key`; ValueError for anything else."""
    parsed = urlparse(uri)
    if parsed.scheme not in S3_SCHEMES or not parsed.netloc:
        raise ValueError(f"not an s3:// or s3a:// URI with a bucket: {uri!r}")
    return parsed.netloc, parsed.path.lstrip("/")


def as_s3(uri: str) -> str:
    """`s3a://b/k` as `s3://b/k` (pyarrow and boto3 know only `s3`); other URIs unchanged."""
    return "s3://" + uri[len("s3a://"):] if uri.startswith("s3a://") else uri


# The variables S3Settings.from_env reads: what a process needs to reach the store the driver names.
AWS_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
                 "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_S3_FORCE_PATH_STYLE")


def aws_variables(env: dict | None = None) -> dict[str, str]:
    """The set AWS_VARIABLES of `env` (default: this process's environment)."""
    env = os.environ if env is None else env
    return {name: env[name] for name in AWS_VARIABLES if env.get(name)}


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class S3Settings:
    """What every S3 client needs; None leaves a setting to the client's own default."""

    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    region: str | None = None
    endpoint: str | None = None  # an S3-compatible server (MinIO, Ceph, a local test server)
    path_style: bool = False  # bucket in the path, not the host name (what most non-AWS servers need)

    @classmethod
    def from_env(cls, env: dict | None = None) -> "S3Settings":
        """From AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION (or
        AWS_DEFAULT_REGION), AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL) and AWS_S3_FORCE_PATH_STYLE
        (default: on when an endpoint is set, as S3-compatible servers expect)."""
        env = os.environ if env is None else env
        endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or None
        path_style = env.get("AWS_S3_FORCE_PATH_STYLE")
        return cls(
            access_key_id=env.get("AWS_ACCESS_KEY_ID") or None,
            secret_access_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
            session_token=env.get("AWS_SESSION_TOKEN") or None,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            endpoint=endpoint,
            path_style=_truthy(path_style) if path_style is not None else endpoint is not None,
        )

    @property
    def plain_http(self) -> bool:
        return bool(self.endpoint) and self.endpoint.lower().startswith("http://")

    def describe(self) -> str:
        """The settings for logs and errors: never the secret or the token."""
        key = f"key id {self.access_key_id[:4]}…" if self.access_key_id else "default credentials"
        where = self.endpoint or "AWS"
        return f"{where} ({self.region or 'default region'}, {key})"


def hadoop_s3a_conf(settings: S3Settings, credentials: bool = True) -> dict[str, str]:
    """Hadoop `fs.s3a.*` (and `fs.s3.impl`) keys; Spark takes them prefixed with `spark.hadoop.`.

    With `credentials=False` the keys are left out so S3A's default chain (the AWS_* variables of
    each JVM, then the instance role) supplies them: that is what a Spark conf should carry, since
    Spark prints its conf in places. A running session's Hadoop configuration gets them explicitly.
    """
    conf = {"fs.s3.impl": S3A_FILESYSTEM, "fs.s3a.impl": S3A_FILESYSTEM}
    if settings.endpoint:
        conf["fs.s3a.endpoint"] = settings.endpoint
        conf["fs.s3a.connection.ssl.enabled"] = "false" if settings.plain_http else "true"
    if settings.region:
        conf["fs.s3a.endpoint.region"] = settings.region
    conf["fs.s3a.path.style.access"] = "true" if settings.path_style else "false"
    if credentials and settings.access_key_id and settings.secret_access_key:
        conf["fs.s3a.access.key"] = settings.access_key_id
        conf["fs.s3a.secret.key"] = settings.secret_access_key
        if settings.session_token:
            conf["fs.s3a.session.token"] = settings.session_token
            conf["fs.s3a.aws.credentials.provider"] = \
                "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider"
    return conf


def delta_storage_options(settings: S3Settings) -> dict[str, str]:
    """delta-rs (object_store) `storage_options`. delta-rs 1.x commits to S3 with conditional
    writes (PUT If-None-Match), so concurrent delta-rs writers are safe with no lock table."""
    options = {}
    if settings.access_key_id and settings.secret_access_key:
        options["AWS_ACCESS_KEY_ID"] = settings.access_key_id
        options["AWS_SECRET_ACCESS_KEY"] = settings.secret_access_key
        if settings.session_token:
            options["AWS_SESSION_TOKEN"] = settings.session_token
    if settings.region:
        options["AWS_REGION"] = settings.region
    if settings.endpoint:
        options["AWS_ENDPOINT_URL"] = settings.endpoint
        options["AWS_VIRTUAL_HOSTED_STYLE_REQUEST"] = "false" if settings.path_style else "true"
    if settings.plain_http:
        options["AWS_ALLOW_HTTP"] = "true"
    return options


def storage_options_for(uri: str, env: dict | None = None) -> dict[str, str] | None:
    """delta-rs `storage_options` for a table URI: from the AWS variables for s3/s3a, else None."""
    return delta_storage_options(S3Settings.from_env(env)) if is_s3_uri(uri) else None


def pyarrow_s3_kwargs(settings: S3Settings) -> dict:
    """Keyword arguments of `pyarrow.fs.S3FileSystem`."""
    kwargs: dict = {}
    if settings.access_key_id and settings.secret_access_key:
        kwargs.update(access_key=settings.access_key_id, secret_key=settings.secret_access_key)
        if settings.session_token:
            kwargs["session_token"] = settings.session_token
    if settings.region:
        kwargs["region"] = settings.region
    if settings.endpoint:
        parsed = urlparse(settings.endpoint)
        kwargs["endpoint_override"] = parsed.netloc or settings.endpoint
        kwargs["scheme"] = parsed.scheme or "https"
        kwargs["force_virtual_addressing"] = not settings.path_style
    return kwargs


def boto3_client_kwargs(settings: S3Settings) -> dict:
    """Keyword arguments of `boto3.client("s3", ...)` (botocore's own chain fills what is None)."""
    kwargs: dict = {}
    if settings.access_key_id and settings.secret_access_key:
        kwargs.update(aws_access_key_id=settings.access_key_id,
                      aws_secret_access_key=settings.secret_access_key)
        if settings.session_token:
            kwargs["aws_session_token"] = settings.session_token
    if settings.region:
        kwargs["region_name"] = settings.region
    if settings.endpoint:
        kwargs["endpoint_url"] = settings.endpoint
    return kwargs


def pyarrow_filesystem(uri: str, s3_settings: "S3Settings | None" = None):
    """(pyarrow filesystem, path inside it) for any URI pyarrow knows, `s3a://` included, with S3
    settings given (a driver's, shipped to a worker) or else from the AWS_* variables of this
    process (pyarrow's own parsing ignores them)."""
    from pyarrow import fs

    if is_s3_uri(uri):
        bucket, key = split_s3_uri(uri)
        settings = s3_settings or S3Settings.from_env()
        return fs.S3FileSystem(**pyarrow_s3_kwargs(settings)), f"{bucket}/{key}".rstrip("/")
    return fs.FileSystem.from_uri(uri)
