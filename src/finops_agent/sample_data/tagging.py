"""The tag facts of the simulated estate: a planted ownership cluster and what every tag key covers.

The ground truth here is worked out from the generator's own resource table (which tags it gave
each resource under which key spelling) and its line items, never from the written files: the
tagging queries are checked against what was generated, not against a second reading of it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from finops_agent.sample_data import lines as L
from finops_agent.sample_data.estate import ACCOUNTS, REGIONS, Product

__all__ = [
    "LOGICAL_KEYS",
    "NOTEBOOK",
    "UNTAGGED_TOP_N",
    "owner_cluster_frame",
    "owner_cluster_truth",
    "tagging_truth",
]

LOGICAL_KEYS = ("owner", "project", "cost_center", "environment")
# the most expensive untagged resources recorded per key: more than any query's default top_n
UNTAGGED_TOP_N = 40
# a service nothing else in the estate uses, so the account's tagged notebooks alone decide
# whose the untagged one is likely to be
NOTEBOOK = Product(
    "AmazonSageMaker",
    "Amazon SageMaker",
    "ML Instance",
    "AI and Machine Learning",
    "Notebk:ml.t3.medium",
    "RunInstance:0001",
    "Hrs",
    0.05,
    "hours",
    0,
    0,
    "",
    "ml.t3.medium",
)
_CLUSTER_ACCOUNT, _CLUSTER_REGION = 2, 2
# name, hours a day, tags: two notebooks of team-ml ($1.20 + $0.80 a day) against one of
# team-data ($1.20), so team-ml carries 2.0 / 3.2 = 62.5% of the tagged spend; the environment
# is spelled three ways that one policy value ('qa') covers
_NOTEBOOKS: list[tuple[str, float, dict[str, str]]] = [
    ("forecasting", 24.0, {"owner": "team-ml", "environment": "qa"}),
    ("churn-model", 16.0, {"owner": "team-ml", "environment": "QA"}),
    ("ad-hoc-sql", 24.0, {"owner": "team-data", "environment": " qa "}),
    ("scratch", 24.0, {}),
]


def owner_cluster_frame(first_product: int) -> tuple[pd.DataFrame, list[Product]]:
    """The planted notebooks in the resource table's shape (products numbered from `first_product`)."""
    account_id = ACCOUNTS[_CLUSTER_ACCOUNT][0]
    region = REGIONS[_CLUSTER_REGION][0]
    rows = [
        {
            "product": first_product,
            "account": _CLUSTER_ACCOUNT,
            "region": _CLUSTER_REGION,
            "start_day": 0,
            "end_day": 0,  # set by the caller to the window's length
            "start_hour": 0,
            "qty": hours,
            "purchase": "od",
            "label": "owner_by_service_untagged" if not tags else "owner_by_service_tagged",
            "noise": False,
            "owner_key": "owner",
            "owner": tags.get("owner"),
            "project_key": "project",
            "project": None,
            "cc_key": "cost_center",
            "cost_center": None,
            "env_key": "environment",
            "environment": tags.get("environment"),
            "pair_id": f"arn:aws:sagemaker:{region}:{account_id}:notebook-instance/{name}",
            "cluster": "",
        }
        for name, hours, tags in _NOTEBOOKS
    ]
    return pd.DataFrame(rows), [NOTEBOOK]


def _usage_frame(lines: L.Lines, rt: pd.DataFrame) -> pd.DataFrame:
    """One row per line item with its resource's account, service, id and logical tag values."""
    frame = pd.DataFrame(
        {
            "res": lines.res,
            "ltype": lines.ltype,
            "unblended": lines.values["unblended"],
            "amortized": lines.amortized(),
            "month": np.datetime_as_string(lines.start.astype("datetime64[M]")),
        }
    )
    for column in ("resource_id", "account_id", "code", "region_name", *LOGICAL_KEYS):
        frame[column] = rt[column].to_numpy()[lines.res]
    frame["usage"] = np.isin(lines.ltype, [L.USAGE, L.SP_COVERED, L.RI_USAGE])
    return frame


def _is_tagged(values: pd.Series) -> pd.Series:
    # a tag is present when its value is neither missing nor ''
    return values.notna() & (values.astype(object).fillna("") != "")


def _round(value: float) -> float:
    return round(float(value), 6)


def _by_value(usage: pd.DataFrame, key: str) -> dict[str, dict[str, float | int]]:
    value = usage[key].where(_is_tagged(usage[key]), "(untagged)")
    out: dict[str, dict[str, float | int]] = {}
    for name, part in usage.groupby(value, sort=True):
        ids = part["resource_id"][part["resource_id"] != ""]
        out[str(name)] = {
            "unblended_cost": _round(part["unblended"].sum()),
            "amortized_cost": _round(part["amortized"].sum()),
            "resources": int(ids.nunique()),
        }
    return out


def _by_account_service(taggable: pd.DataFrame, key: str) -> list[dict[str, Any]]:
    tagged = _is_tagged(taggable[key])
    out = []
    for (account, service), part in taggable.groupby(["account_id", "code"], sort=True):
        mine = tagged[part.index]
        untagged = part[~mine]
        out.append(
            {
                "account_id": account,
                "service_code": service,
                "total_cost": _round(part["amortized"].sum()),
                "tagged_cost": _round(part["amortized"][mine].sum()),
                "resources": int(part["resource_id"].nunique()),
                "tagged_resources": int(part["resource_id"][mine].nunique()),
                "untagged_cost_by_month": {
                    str(m): _round(c)
                    for m, c in untagged.groupby("month")["amortized"].sum().items()
                },
            }
        )
    return out


def _untagged_top(taggable: pd.DataFrame, key: str) -> list[dict[str, Any]]:
    untagged = taggable[~_is_tagged(taggable[key])]
    per_resource = untagged.groupby("resource_id").agg(
        account_id=("account_id", "first"),
        service_code=("code", "first"),
        region=("region_name", "first"),
        amortized_cost=("amortized", "sum"),
    )
    top = per_resource.sort_values("amortized_cost", ascending=False, kind="stable")
    return [
        {"resource_id": str(rid), **{k: row[k] for k in ("account_id", "service_code", "region")}}
        | {"amortized_cost": _round(row["amortized_cost"])}
        for rid, row in top.head(UNTAGGED_TOP_N).iterrows()
    ]


def _environment_values(lines: pd.DataFrame) -> dict[str, dict[str, float | int]]:
    """Every line of a resource with an id, by the raw environment value; absent ones apart."""
    with_id = lines[lines["resource_id"] != ""]
    raw = with_id["environment"].astype(object).where(with_id["environment"].notna(), "(absent)")
    return {
        str(value): {
            "amortized_cost": _round(part["amortized"].sum()),
            "resources": int(part["resource_id"].nunique()),
        }
        for value, part in with_id.groupby(raw, sort=True)
    }


def tagging_truth(lines: L.Lines, rt: pd.DataFrame) -> dict[str, Any]:
    """What each logical tag key covers over the whole generated data, from the generator's tags.

    `by_value`: usage lines (Usage, DiscountedUsage, SavingsPlanCoveredUsage) by the key's value;
    `by_account_service`: the same lines of resources with an id, per account and service (the
    untagged cost also per month, for reports over part of the data);
    `untagged_top`: the costliest of those resources without a value, by amortised cost.
    `environment_values`: all lines of resources with an id by the raw environment value, the
    resources that never had the key under "(absent)".
    """
    frame = _usage_frame(lines, rt)
    usage = frame[frame["usage"]]
    taggable = usage[usage["resource_id"] != ""]
    keys = {
        key: {
            "by_value": _by_value(usage, key),
            "by_account_service": _by_account_service(taggable, key),
            "untagged_top": _untagged_top(taggable, key),
        }
        for key in LOGICAL_KEYS
    }
    return {"keys": keys, "environment_values": _environment_values(frame)}


def owner_cluster_truth(lines: L.Lines, rt: pd.DataFrame) -> dict[str, Any]:
    """The planted notebooks: each one's cost and tags, and the owner the tagged ones point to."""
    planted = rt[rt["label"].isin(["owner_by_service_tagged", "owner_by_service_untagged"])]
    frame = _usage_frame(lines, rt)
    notebooks = []
    for index, row in planted.iterrows():
        mine = frame[frame["res"] == index]
        notebooks.append(
            {
                "resource_id": row["resource_id"],
                "tags": {
                    k: row[k] for k in LOGICAL_KEYS if row[k] is not None and row[k] == row[k]
                },
                "amortized_cost": _round(mine["amortized"].sum()),
                "hours": _round(lines.values["qty"][lines.res == index].sum()),
            }
        )
    tagged = [n for n in notebooks if n["tags"].get("owner")]
    by_owner: dict[str, float] = {}
    for notebook in tagged:
        owner = notebook["tags"]["owner"]
        by_owner[owner] = by_owner.get(owner, 0.0) + notebook["amortized_cost"]
    likely = max(sorted(by_owner), key=lambda owner: by_owner[owner])
    return {
        "account_id": ACCOUNTS[_CLUSTER_ACCOUNT][0],
        "region": REGIONS[_CLUSTER_REGION][0],
        "service_code": NOTEBOOK.code,
        "notebooks": notebooks,
        "untagged_resource_ids": [n["resource_id"] for n in notebooks if not n["tags"]],
        "likely_owner": likely,
        "likely_owner_cost": _round(by_owner[likely]),
        "tagged_cost": _round(sum(by_owner.values())),
    }
