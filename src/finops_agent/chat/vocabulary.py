"""What a question can name in one report's data: services, accounts, regions, tags and days.

Read once per chat session with a few `select distinct` queries over `cost`, so a question
is matched against the report's own spellings (case- and alias-tolerant), never guessed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pandas as pd
from sqlglot import exp

__all__ = ["Entity", "Vocabulary", "load_vocabulary", "tokens"]

_TOKEN = re.compile(r"[a-z0-9][a-z0-9_.:/-]*[a-z0-9]|[a-z0-9]|%")
# What people call a service besides its code and name (only used when the code is in the data).
SERVICE_ALIASES: dict[str, tuple[str, ...]] = {
    "AmazonEC2": ("ec2", "compute cloud", "virtual machines"),
    "AmazonS3": ("s3", "simple storage service"),
    "AmazonRDS": ("rds", "relational database"),
    "AWSLambda": ("lambda", "lambdas"),
    "AmazonCloudFront": ("cloudfront", "cdn"),
    "AmazonDynamoDB": ("dynamodb", "dynamo"),
    "AmazonECS": ("ecs", "fargate"),
    "AmazonEKS": ("eks", "kubernetes"),
    "AmazonElastiCache": ("elasticache", "redis", "memcached"),
    "AmazonCloudWatch": ("cloudwatch",),
    "AWSELB": ("elb", "load balancer", "load balancers", "load balancing", "alb", "nlb"),
    "AmazonAthena": ("athena",),
    "AmazonVPC": ("vpc",),
    "awskms": ("kms", "key management service"),
    "ComputeSavingsPlans": ("savings plan fee", "savings plans fee"),
    "AmazonRedshift": ("redshift",),
    "AmazonSNS": ("sns",),
    "AmazonSQS": ("sqs",),
    "AmazonRoute53": ("route 53", "route53", "dns"),
}
# Well-known services a question may name although this report's data has no spend on them.
KNOWN_ABSENT: dict[str, str] = {
    "cloudfront": "Amazon CloudFront",
    "redshift": "Amazon Redshift",
    "sagemaker": "Amazon SageMaker",
    "route53": "Amazon Route 53",
    "opensearch": "Amazon OpenSearch Service",
    "kinesis": "Amazon Kinesis",
}
REGION_ALIASES: dict[str, tuple[str, ...]] = {
    "us-east-1": ("n. virginia", "n virginia", "north virginia", "virginia", "us east"),
    "us-east-2": ("ohio",),
    "us-west-1": ("n. california", "california"),
    "us-west-2": ("oregon", "us west"),
    "eu-west-1": ("ireland",),
    "eu-central-1": ("frankfurt",),
    "eu-west-2": ("london",),
    "ap-southeast-2": ("sydney",),
    "ap-southeast-1": ("singapore",),
    "ap-northeast-1": ("tokyo",),
}
# Purchase options and charge types a question may narrow to, with what people call them.
PURCHASE_ALIASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "OnDemand": ("On-Demand", ("on-demand", "on demand", "ondemand")),
    "Spot": ("Spot", ("spot", "spot instances")),
    "SavingsPlan": ("Savings Plans", ("savings plan", "savings plans")),
    "Reserved": ("Reserved", ("reserved", "reserved instances", "reservations", "ri", "ris")),
}
CHARGE_ALIASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "Tax": ("tax", ("tax", "taxes", "vat")),
}
# Tag values too generic to stand for a tag filter on their own.
_GENERIC = frozenset({"", "none", "null", "n/a", "na", "unknown", "other", "default", "all"})


def tokens(text: str) -> list[str]:
    """Lower-case words of a question or a name (ids, regions and dates stay whole)."""
    return _TOKEN.findall(text.lower().replace("’", "'").replace("'s ", " "))


@dataclass(frozen=True)
class Entity:
    """Something a question can name: kind (service, account, region, zone, tag) and its value."""

    kind: str
    value: str
    label: str
    key: str = ""  # the tag key of a tag value


@dataclass
class Vocabulary:
    """The names of one report's data, the days it holds, and the report's own window."""

    entities: list[tuple[tuple[str, ...], Entity]]
    tag_keys: tuple[str, ...]
    first_day: dt.date
    last_day: dt.date
    window_start: dt.date
    window_end: dt.date  # exclusive
    top_service: str = ""
    top_account: str = ""
    absent: dict[str, str] = field(default_factory=dict)

    @property
    def report_last_day(self) -> dt.date:
        """The last day of the report's window that holds data."""
        return min(self.last_day, self.window_end - dt.timedelta(days=1))


def _phrases(*names: str) -> set[tuple[str, ...]]:
    return {tuple(tokens(n)) for n in names if tokens(n)}


def load_vocabulary(
    run: Callable[[str], pd.DataFrame],
    tag_keys: Iterable[str],
    window: tuple[dt.date, dt.date],
) -> Vocabulary:
    """Read the names and days of `cost` through `run` (SQL built here from fixed text only)."""
    keys = tuple(k for k in tag_keys if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k))
    parts = _read_names(run, keys)
    services = parts["service"].sort_values("cost", ascending=False)
    accounts = parts["account"].sort_values("cost", ascending=False)
    places, kinds, days = parts["place"], parts["kind"], parts["days"]
    entities: list[tuple[tuple[str, ...], Entity]] = []
    present = set()
    for code, name in zip(services["service_code"], services["service_name"], strict=True):
        if not isinstance(code, str) or not code:
            continue
        label = str(name or code)
        present.add(code)
        short = re.sub(r"^(amazon|aws)\s*", "", label, flags=re.IGNORECASE)
        code_short = re.sub(r"^(amazon|aws)", "", code, flags=re.IGNORECASE)
        names = {code, label, short, code_short, *SERVICE_ALIASES.get(code, ())}
        for phrase in _phrases(*names):
            entities.append((phrase, Entity("service", code, label)))
    for account_id, name in zip(accounts["account_id"], accounts["account_name"], strict=True):
        if isinstance(account_id, str) and account_id:
            label = str(name or account_id)
            for phrase in _phrases(account_id, label):
                entities.append((phrase, Entity("account", account_id, label)))
    for region in sorted({r for r in places["region"] if isinstance(r, str) and r}):
        for phrase in _phrases(region, *REGION_ALIASES.get(region, ())):
            entities.append((phrase, Entity("region", region, region)))
    for zone in sorted({z for z in places["availability_zone"] if isinstance(z, str) and z}):
        entities.append(((zone.lower(),), Entity("zone", zone, zone)))
    for column, kind, aliases in (
        ("purchase_option", "purchase", PURCHASE_ALIASES),
        ("charge_type", "charge", CHARGE_ALIASES),
    ):
        for value in sorted({v for v in kinds[column] if isinstance(v, str) and v in aliases}):
            label, spellings = aliases[value]
            for phrase in _phrases(*spellings):
                entities.append((phrase, Entity(kind, value, label)))
    for key in keys:
        # values compared lower-case: `prod` and `Prod` are one value to a reader
        values = parts[f"tag_{keys.index(key)}"][f"tag_{keys.index(key)}"]
        for value in sorted({str(v) for v in values if isinstance(v, str)}):
            if value.strip() in _GENERIC or len(value.strip()) < 2:
                continue
            for phrase in _phrases(value):
                entities.append((phrase, Entity("tag", value, value, key)))
    first = days["first_day"].iloc[0] if len(days) else None
    last = days["last_day"].iloc[0] if len(days) else None
    if first is None or pd.isna(first):
        first = last = window[0]
    return Vocabulary(
        entities=entities,
        tag_keys=keys,
        first_day=pd.Timestamp(first).date(),
        last_day=pd.Timestamp(last).date(),
        window_start=window[0],
        window_end=window[1],
        top_service=str(services["service_name"].iloc[0]) if len(services) else "",
        top_account=str(accounts["account_name"].iloc[0]) if len(accounts) else "",
        absent={k: v for k, v in KNOWN_ABSENT.items() if not _named(k, entities)},
    )


# grouping sets of the one names query: the set's name and the columns it groups by
_SETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("service", ("service_code", "service_name")),
    ("account", ("account_id", "account_name")),
    ("place", ("region", "availability_zone")),
    ("kind", ("purchase_option", "charge_type")),
)


def _read_names(
    run: Callable[[str], pd.DataFrame], keys: tuple[str, ...]
) -> dict[str, pd.DataFrame]:
    """Every name list in one query (one scan of `cost`, which Athena bills per scan)."""
    tags = [f"tag_{i}" for i in range(len(keys))]
    sets = [*_SETS, *((tag, (tag,)) for tag in tags), ("days", ())]
    columns = [c for _, grouped in _SETS for c in grouped] + tags
    # values compared lower-case: `prod` and `Prod` are one value to a reader
    lowered = [
        f"lower(element_at(tags, {exp.Literal.string(key).sql(dialect='athena')})) as {tag}"
        for key, tag in zip(keys, tags, strict=True)
    ]
    firsts = [grouped[0] for _, grouped in sets if grouped]
    sql = (
        f"select {', '.join(columns)}, grouping({', '.join(firsts)}) as grouping_id, "
        "min(usage_date) as first_day, max(usage_date) as last_day, "
        "sum(unblended_cost) as cost "
        f"from (select {', '.join([*columns[: len(columns) - len(tags)], *lowered])}, "
        "usage_date, unblended_cost from cost) as named "
        f"group by grouping sets ({', '.join('(' + ', '.join(g) + ')' for _, g in sets)})"
    )
    frame = run(sql)
    everything = (1 << len(firsts)) - 1
    out: dict[str, pd.DataFrame] = {}
    for position, (name, grouped) in enumerate(s for s in sets if s[1]):
        mask = everything & ~(1 << (len(firsts) - 1 - position))
        out[name] = frame[frame["grouping_id"] == mask][[*grouped, "cost"]]
    out["days"] = frame[frame["grouping_id"] == everything][["first_day", "last_day"]]
    return out


def _named(alias: str, entities: list[tuple[tuple[str, ...], Entity]]) -> bool:
    return any(phrase == (alias,) for phrase, _ in entities)
