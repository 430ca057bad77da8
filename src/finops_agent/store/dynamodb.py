"""DynamoDB interaction store: idempotent writes, GSIs by session and report, nothing lost."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import gzip
import json
import time
from collections.abc import Iterator
from dataclasses import fields
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from finops_agent.settings import Settings
from finops_agent.store.base import Interaction

ITEM_LIMIT_BYTES = 400 * 1024
# leave room for attribute names and overhead before DynamoDB's hard limit
_COMPRESS_ABOVE = 300 * 1024
_LARGE = ("user_query", "agent_response", "data_context")
_NUMBERS = {"input_tokens", "output_tokens", "latency_ms", "cost_usd", "rating"}
_INDEXES = {"by_session": "session_id", "by_report": "report_id"}
_RETRYABLE = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
}
_ATTEMPTS = 4


class ItemTooLargeError(ValueError):
    """An interaction too large for DynamoDB even compressed, with no S3 bucket to offload to."""


class DynamoDBStore:
    """InteractionStore on a DynamoDB table; unreachable writes go to a local spool for replay."""

    def __init__(
        self,
        table: str,
        client: Any,
        *,
        spool_dir: Path,
        ttl_days: int = 90,
        s3_client: Any = None,
        s3_bucket: str | None = None,
        s3_prefix: str = "",
        page_size: int | None = None,
    ) -> None:
        self.table = table
        self._client = client
        self._spool = Path(spool_dir) / f"{table}.jsonl"
        self._ttl_days = ttl_days
        self._s3 = s3_client
        self._bucket = s3_bucket
        self._page_size = page_size
        self._prefix = s3_prefix.strip("/")
        self._page_size = page_size

    @classmethod
    def from_settings(cls, settings: Settings) -> DynamoDBStore:
        """Client, spool folder and offload bucket from settings."""
        session = boto3.Session(profile_name=settings.aws_profile, region_name=settings.aws_region)
        config = Config(
            retries={"max_attempts": 3, "mode": "adaptive"}, connect_timeout=3, read_timeout=10
        )
        client = session.client(
            "dynamodb", endpoint_url=settings.dynamodb_endpoint_url, config=config
        )
        s3 = session.client("s3") if settings.log_s3_bucket else None
        return cls(
            settings.dynamodb_table,
            client,
            spool_dir=settings.home / "spool",
            ttl_days=settings.interaction_ttl_days,
            s3_client=s3,
            s3_bucket=settings.log_s3_bucket,
            s3_prefix=settings.log_s3_prefix,
        )

    # --- writing ---------------------------------------------------------------------------
    def _item(self, item: Interaction) -> dict[str, Any]:
        data = item.to_dict()
        data["data_context"] = json.dumps(data["data_context"], default=str, ensure_ascii=False)
        expires = dt.datetime.fromisoformat(item.timestamp) + dt.timedelta(days=self._ttl_days)
        out: dict[str, Any] = {"ttl": {"N": str(int(expires.timestamp()))}}
        for name, value in data.items():
            if value is None or (value == "" and name in _INDEXES.values()):
                continue  # empty strings may not key an index: leave the attribute out (sparse GSI)
            out[name] = {"N": str(value)} if name in _NUMBERS else {"S": str(value)}
        if len(json.dumps(out).encode()) > _COMPRESS_ABOVE:
            for name in _LARGE:
                raw = out.pop(name)["S"].encode()
                out[f"{name}_gz"] = {"B": gzip.compress(raw)}
            if (
                sum(len(v.get("B", b"")) for v in out.values() if isinstance(v, dict))
                > _COMPRESS_ABOVE
            ):
                out = self._offload(item, out)
        return out

    def _offload(self, item: Interaction, out: dict[str, Any]) -> dict[str, Any]:
        if self._s3 is None or not self._bucket:
            raise ItemTooLargeError(
                f"interaction {item.interaction_id} is over {ITEM_LIMIT_BYTES // 1024} KB even gzipped; "
                "set FINOPS_LOG_S3_BUCKET to offload large interactions to S3"
            )
        key = f"{self._prefix}/{item.interaction_id}.json.gz".lstrip("/")
        body = gzip.compress(json.dumps(item.to_dict(), default=str, ensure_ascii=False).encode())
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=body)
        for name in _LARGE:
            out.pop(f"{name}_gz", None)
        out["offload_s3_uri"] = {"S": f"s3://{self._bucket}/{key}"}
        return out

    def _put_item(self, item: dict[str, Any]) -> None:
        for attempt in range(_ATTEMPTS):
            try:
                self._client.put_item(
                    TableName=self.table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(interaction_id)",
                )
                return
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code == "ConditionalCheckFailedException":
                    return  # already written: puts are idempotent on interaction_id
                if code not in _RETRYABLE or attempt == _ATTEMPTS - 1:
                    raise
            except BotoCoreError:
                if attempt == _ATTEMPTS - 1:
                    raise
            time.sleep(min(2.0, 0.2 * 2**attempt))

    def put(self, item: Interaction) -> None:
        """Write once; if DynamoDB stays unreachable, spool the item locally for `replay()`."""
        encoded = self._item(item)
        try:
            self._put_item(encoded)
        except (BotoCoreError, ClientError) as exc:
            if (
                isinstance(exc, ClientError)
                and exc.response.get("Error", {}).get("Code") not in _RETRYABLE
            ):
                raise
            self._append_spool(item)

    @contextlib.contextmanager
    def _locked_spool(self) -> Iterator[Path]:
        self._spool.parent.mkdir(parents=True, exist_ok=True)
        with (self._spool.parent / f".{self._spool.name}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield self._spool
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _append_spool(self, item: Interaction) -> None:
        with self._locked_spool() as spool, spool.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(item.to_dict(), default=str, ensure_ascii=False) + "\n")

    def spooled(self) -> int:
        """Number of interactions waiting in the local spool."""
        if not self._spool.exists():
            return 0
        with self._spool.open(encoding="utf-8") as handle:
            return sum(1 for line in handle if line.strip())

    def replay(self) -> int:
        """Deliver spooled interactions (idempotently); keep the ones that still fail. Return delivered."""
        with self._locked_spool() as spool:
            if not spool.exists():
                return 0
            pending = [
                json.loads(line)
                for line in spool.read_text(encoding="utf-8").splitlines()
                if line.strip()
            ]
            kept, delivered = [], 0
            for data in pending:
                try:
                    self._put_item(self._item(Interaction(**data)))
                    delivered += 1
                except (BotoCoreError, ClientError):
                    kept.append(data)
            tmp = spool.with_suffix(".tmp")
            tmp.write_text(
                "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in kept), encoding="utf-8"
            )
            tmp.replace(spool)
        return delivered

    # --- reading ---------------------------------------------------------------------------
    def _decode(self, raw: dict[str, Any]) -> Interaction:
        if "offload_s3_uri" in raw and self._s3 is not None:
            bucket, key = raw["offload_s3_uri"]["S"][5:].split("/", 1)
            body = self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            return Interaction(**json.loads(gzip.decompress(body)))
        data: dict[str, Any] = {}
        for name, value in raw.items():
            if name.endswith("_gz"):
                data[name[:-3]] = gzip.decompress(bytes(value["B"])).decode()
            elif "N" in value:
                data[name] = (
                    int(value["N"])
                    if name in ("input_tokens", "output_tokens", "rating")
                    else float(Decimal(value["N"]))
                )
            elif "S" in value:
                data[name] = value["S"]
        data.pop("ttl", None)
        data["data_context"] = json.loads(data.get("data_context") or "{}")
        known = {f.name for f in fields(Interaction)}
        return Interaction(**{k: v for k, v in data.items() if k in known})

    def get(self, interaction_id: str) -> Interaction | None:
        """One interaction by id, or None."""
        raw = self._client.get_item(
            TableName=self.table, Key={"interaction_id": {"S": interaction_id}}, ConsistentRead=True
        )
        return self._decode(raw["Item"]) if "Item" in raw else None

    def _query(self, index: str, value: str) -> list[Interaction]:
        items: list[Interaction] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": index,
            "KeyConditionExpression": "#k = :v",
            "ExpressionAttributeNames": {"#k": _INDEXES[index]},
            "ExpressionAttributeValues": {":v": {"S": value}},
        }
        if self._page_size:
            kwargs["Limit"] = self._page_size
        while True:
            page = self._client.query(**kwargs)
            items.extend(self._decode(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def by_session(self, session_id: str) -> list[Interaction]:
        """Every interaction of a session, oldest first (a Query on the by_session index)."""
        return self._query("by_session", session_id)

    def by_report(self, report_id: str) -> list[Interaction]:
        """Every interaction about a report, oldest first (a Query on the by_report index)."""
        return self._query("by_report", report_id)

    def recent(self, since: dt.datetime | None = None, limit: int = 100) -> list[Interaction]:
        """Newest first; a filtered Scan, fine for the history commands' occasional use."""
        start = (since or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).astimezone(dt.UTC).isoformat()
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "FilterExpression": "#t >= :s",
            "ExpressionAttributeNames": {"#t": "timestamp"},
            "ExpressionAttributeValues": {":s": {"S": start}},
        }
        items: list[Interaction] = []
        while True:
            page = self._client.scan(**kwargs)
            items.extend(self._decode(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return sorted(items, key=lambda i: i.timestamp, reverse=True)[:limit]

    def rate(self, interaction_id: str, rating: int, comment: str | None = None) -> None:
        """Attach a rating; raise KeyError naming an unknown id."""
        try:
            self._client.update_item(
                TableName=self.table,
                Key={"interaction_id": {"S": interaction_id}},
                UpdateExpression="set rating = :r, rating_comment = :c",
                ConditionExpression="attribute_exists(interaction_id)",
                ExpressionAttributeValues={":r": {"N": str(rating)}, ":c": {"S": comment or ""}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise KeyError(f"no interaction {interaction_id!r} in table {self.table}") from None
            raise

    # --- setup -----------------------------------------------------------------------------
    def create_table(self, *, pitr: bool = False) -> list[str]:
        """Create the table, its indexes and TTL if missing; return what was done (idempotent)."""
        done: list[str] = []
        try:
            self._client.describe_table(TableName=self.table)
            done.append(f"table {self.table} exists")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            self._client.create_table(
                TableName=self.table,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[
                    {"AttributeName": n, "AttributeType": "S"}
                    for n in ("interaction_id", "timestamp", "session_id", "report_id")
                ],
                KeySchema=[{"AttributeName": "interaction_id", "KeyType": "HASH"}],
                GlobalSecondaryIndexes=[
                    {
                        "IndexName": name,
                        "Projection": {"ProjectionType": "ALL"},
                        "KeySchema": [
                            {"AttributeName": key, "KeyType": "HASH"},
                            {"AttributeName": "timestamp", "KeyType": "RANGE"},
                        ],
                    }
                    for name, key in _INDEXES.items()
                ],
            )
            self._client.get_waiter("table_exists").wait(
                TableName=self.table, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
            )
            done.append(
                f"created table {self.table} (on-demand) with indexes {', '.join(_INDEXES)}"
            )
        try:
            self._client.update_time_to_live(
                TableName=self.table,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"},
            )
            done.append("TTL on attribute ttl enabled")
        except ClientError as exc:
            message = exc.response.get("Error", {}).get("Message", "")
            done.append(
                "TTL already enabled"
                if "already enabled" in message.lower()
                else f"TTL not set: {message or exc}"
            )
        if pitr:
            self._client.update_continuous_backups(
                TableName=self.table,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
            done.append("point-in-time recovery enabled")
        return done


def replay_spool(store: object) -> int:
    """Replay a store's spool if it has one (call at the start of each run); return delivered."""
    replay = getattr(store, "replay", None)
    return int(replay()) if callable(replay) else 0
