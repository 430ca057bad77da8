"""Opt-in extras of the sample bill: accounts billed in a second currency, a second provider."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from finops_agent.sample_data import lines as L
from finops_agent.sample_data.estate import Kind, Product
from finops_agent.sample_data.inventory import hex_ids

__all__ = [
    "PROVIDER_ACCOUNT",
    "SECOND_CURRENCIES",
    "SECOND_PROVIDER",
    "money_truth",
    "second_currency_estate",
    "second_provider_estate",
]

# Each currency's own price list (what the EMEA seller charges), not a conversion of the USD one
_PRICES: dict[str, dict[str, float]] = {
    "EUR": {"m5.large": 0.107, "c5.xlarge": 0.178, "gp3": 0.0916, "snapshot": 0.0535},
    "GBP": {"m5.large": 0.093, "c5.xlarge": 0.155, "gp3": 0.0798, "snapshot": 0.0466},
}
SECOND_CURRENCIES: tuple[str, ...] = tuple(_PRICES)
# the second currency's accounts sit under their own payer, invoiced by AWS's EMEA seller
_EMEA_PAYER = ("222233334444", "acme-emea-payer")
_EMEA_ACCOUNTS = [("555566667777", "eu-retail"), ("666677778888", "eu-logistics")]
_EMEA_REGION = ("eu-central-1", "EUC1", ("eu-central-1a", "eu-central-1b"))
_EMEA_TAX = (38.0, 21.5)  # monthly VAT per account, in the second currency
_EMEA_CREDIT = -15.0  # monthly promotional credit on the first account
_EMEA_INVOICE_ISSUER = "Amazon Web Services EMEA SARL"

SECOND_PROVIDER = "Microsoft"
# Microsoft's FOCUS export names the billing account and subscriptions by their ARM paths
PROVIDER_ACCOUNT = ("/providers/Microsoft.Billing/billingAccounts/87654321", "Acme Azure")
_SUBSCRIPTIONS = [
    ("/subscriptions/0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d", "azure-web"),
    ("/subscriptions/5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9", "azure-data"),
]
_AZURE_REGIONS = [("eastus", ("1", "2", "3")), ("westeurope", ("1", "2", "3"))]


def _product(
    code: str, name: str, family: str, category: str, usage: str, op: str, unit: str, price: float
) -> Product:
    kind: Kind = "gbmonth" if "Mo" in unit or "Month" in unit else "hours"
    return Product(code, name, family, category, usage, op, unit, price, kind, 0, 0, "")


def _frame(
    specs: list[tuple[int, int, int, float]], days: int, tags: dict[str, str]
) -> pd.DataFrame:
    """Resources (product, account, region, quantity) alive the whole window, steady and tagged."""
    frame = pd.DataFrame(specs, columns=["product", "account", "region", "qty"])
    frame["start_day"], frame["end_day"], frame["start_hour"] = 0, days, 0
    # no noise and no commitments: these rows must not move the AWS estate's detectors
    frame["noise"], frame["purchase"], frame["label"] = False, "od", ""
    for key, column in (
        ("owner_key", "owner"),
        ("project_key", "project"),
        ("cc_key", "cost_center"),
        ("env_key", "environment"),
    ):
        frame[key] = column
        frame[column] = tags[column]
    return frame


def _describe(
    frame: pd.DataFrame,
    products: list[Product],
    *,
    payer: tuple[str, str],
    accounts: list[tuple[str, str]],
    regions: list[str],
    zones: list[str],
    resource_ids: list[str],
    usage_types: list[str],
    instance_types: list[str],
    currency: str,
    provider: str,
    invoice_issuer: str,
) -> pd.DataFrame:
    """The per-resource text the writers read, in the columns of the main estate's table."""
    rt = frame.copy()
    product = [products[i] for i in rt["product"]]
    rt["account_id"] = [accounts[a][0] for a in rt["account"]]
    rt["account_name"] = [accounts[a][1] for a in rt["account"]]
    rt["region_name"] = regions
    rt["payer_id"], rt["payer_name"] = payer
    for field in ("code", "name", "family", "focus_category", "operation", "unit"):
        rt[field] = [getattr(p, field) for p in product]
    rt["instance_type"] = instance_types
    rt["usage_type"] = usage_types
    rt["description"] = [
        f"{p.price:g} {currency} per {p.unit} for {u}" if u else ""
        for p, u in zip(product, usage_types, strict=True)
    ]
    rt["az"] = zones
    rt["resource_id"] = resource_ids
    rt["sp_arn"], rt["ri_arn"] = "", ""
    rt["currency"], rt["provider"], rt["publisher"] = currency, provider, provider
    rt["invoice_issuer"] = invoice_issuer
    return rt


def _offset(lines: L.Lines, by: int) -> L.Lines:
    return L.Lines(lines.res + by, lines.ltype, lines.start, lines.values)


def second_currency_estate(
    rng: np.random.Generator, currency: str, days: pd.DatetimeIndex, first_res: int
) -> tuple[pd.DataFrame, L.Lines]:
    """Two AWS accounts billed in `currency` at its own prices: EC2, EBS, VAT and a credit.

    Returns the resources (indexed from `first_res`) and their lines.
    """
    price = _PRICES[currency]
    region, prefix, zones = _EMEA_REGION
    ec2 = ("AmazonEC2", "Amazon Elastic Compute Cloud")
    products = [
        _product(*ec2, "Compute Instance", "Compute", "BoxUsage:m5.large", "RunInstances", "Hrs",
                 price["m5.large"]),
        _product(*ec2, "Compute Instance", "Compute", "BoxUsage:c5.xlarge", "RunInstances", "Hrs",
                 price["c5.xlarge"]),
        _product(*ec2, "Storage", "Storage", "EBS:VolumeUsage.gp3", "CreateVolume-Gp3", "GB-Mo",
                 price["gp3"]),
        _product(*ec2, "Storage Snapshot", "Storage", "EBS:SnapshotUsage", "CreateSnapshot",
                 "GB-Mo", price["snapshot"]),
        _product(*ec2, "", "Compute", "", "", "", 0.0),
    ]  # fmt: skip
    # (product, account, region, quantity a day or GB)
    specs = [
        (0, 0, 0, 24.0),
        (0, 0, 0, 24.0),
        (1, 0, 0, 24.0),
        (2, 0, 0, 500.0),
        (2, 0, 0, 250.0),
        (0, 1, 0, 24.0),
        (1, 1, 0, 24.0),
        (2, 1, 0, 800.0),
        (3, 1, 0, 1200.0),
    ]
    n = len(specs)
    tags = {
        "owner": "team-emea",
        "project": "eu-shop",
        "cost_center": "cc-200",
        "environment": "prod",
    }
    frame = _frame(specs, len(days), tags)
    styles = ["i-", "i-", "i-", "vol-", "vol-", "i-", "i-", "vol-", "snap-"]
    ids = [p + t for p, t in zip(styles, hex_ids(rng, n, ""), strict=True)]
    usage_types = [f"{prefix}-{products[p].usage}" for p, *_ in specs]
    itypes = [
        products[p].usage.split(":")[1] if products[p].unit == "Hrs" else "" for p, *_ in specs
    ]
    zone = [zones[i % len(zones)] if s != "snap-" else "" for i, s in enumerate(styles)]
    usage_rt = _describe(
        frame,
        products,
        payer=_EMEA_PAYER,
        accounts=_EMEA_ACCOUNTS,
        regions=[region] * n,
        zones=zone,
        resource_ids=ids,
        usage_types=usage_types,
        instance_types=itypes,
        currency=currency,
        provider="AWS",
        invoice_issuer=_EMEA_INVOICE_ISSUER,
    )
    usage = L.usage_lines(rng, frame, products, days)
    # VAT per account and one credit: pseudo-resources without ids, as the main estate's tax
    pseudo = _frame([(4, a, 0, 0.0) for a in range(len(_EMEA_ACCOUNTS))], len(days), tags)
    pseudo["end_day"] = 0
    pseudo_rt = _describe(
        pseudo,
        products,
        payer=_EMEA_PAYER,
        accounts=_EMEA_ACCOUNTS,
        regions=[region] * len(pseudo),
        zones=[""] * len(pseudo),
        resource_ids=[""] * len(pseudo),
        usage_types=[""] * len(pseudo),
        instance_types=[""] * len(pseudo),
        currency=currency,
        provider="AWS",
        invoice_issuer=_EMEA_INVOICE_ISSUER,
    )
    extra = [
        L.monthly_lines(n + a, L.TAX, days, np.array([amount]))
        for a, amount in enumerate(_EMEA_TAX)
    ]
    extra.append(L.monthly_lines(n, L.CREDIT, days, np.array([_EMEA_CREDIT])))
    rt = pd.concat([usage_rt, pseudo_rt], ignore_index=True)
    rt.index = rt.index + first_res
    return rt, _offset(L.Lines.concat([usage, *extra]), first_res)


def second_provider_estate(
    rng: np.random.Generator, days: pd.DatetimeIndex, first_res: int
) -> tuple[pd.DataFrame, L.Lines]:
    """Microsoft Azure resources in their own billing account, as Microsoft's FOCUS export has them.

    Returns the resources (indexed from `first_res`) and their lines, billed in USD.
    """
    products = [
        _product("Virtual Machines", "Virtual Machines", "Virtual Machines", "Compute",
                 "D4s v5", "", "1 Hour", 0.192),
        _product("Storage", "Storage", "Storage Account", "Storage",
                 "Hot LRS Data Stored", "", "1 GB/Month", 0.0208),
        _product("SQL Database", "SQL Database", "SQL Database", "Databases",
                 "vCore", "", "1 Hour", 0.2511),
    ]  # fmt: skip
    specs = [(0, 0, 0, 24.0), (0, 0, 0, 24.0), (1, 0, 0, 2000.0), (0, 1, 1, 24.0), (2, 1, 1, 48.0)]
    n = len(specs)
    tags = {
        "owner": "team-azure",
        "project": "web-portal",
        "cost_center": "cc-300",
        "environment": "prod",
    }
    frame = _frame(specs, len(days), tags)
    kinds = [
        ("Microsoft.Compute/virtualMachines", "vm"),
        ("Microsoft.Storage/storageAccounts", "st"),
        ("Microsoft.Sql/servers/databases", "sqldb"),
    ]
    tails = hex_ids(rng, n, "", width=9)
    ids = []
    for (p, account, _region, _qty), tail in zip(specs, tails, strict=True):
        kind, stem = kinds[p]
        group = _SUBSCRIPTIONS[account][1]
        # Azure resource ids are ARM paths, which exports write in lower case
        ids.append(
            f"{_SUBSCRIPTIONS[account][0]}/resourcegroups/rg-{group}/providers/{kind}/{stem}{tail}".lower()
        )
    regions = [_AZURE_REGIONS[r][0] for _p, _a, r, _q in specs]
    zones = [
        f"{_AZURE_REGIONS[r][0]}-{_AZURE_REGIONS[r][1][i % 3]}" if p == 0 else ""
        for i, (p, _a, r, _q) in enumerate(specs)
    ]
    rt = _describe(
        frame,
        products,
        payer=PROVIDER_ACCOUNT,
        accounts=_SUBSCRIPTIONS,
        regions=regions,
        zones=zones,
        resource_ids=ids,
        usage_types=[products[p].usage for p, *_ in specs],
        instance_types=["Standard_D4s_v5" if p == 0 else "" for p, *_ in specs],
        currency="USD",
        provider=SECOND_PROVIDER,
        invoice_issuer=SECOND_PROVIDER,
    )
    rt.index = rt.index + first_res
    return rt, _offset(L.usage_lines(rng, frame, products, days), first_res)


def _round(value: float) -> float:
    return round(float(value), 6)


def _money(unblended: np.ndarray, amortized: np.ndarray, names: np.ndarray) -> dict[str, Any]:
    by_type = (
        pd.DataFrame({"type": names, "unblended": unblended, "amortized": amortized})
        .groupby("type", sort=True)[["unblended", "amortized"]]
        .sum()
    )
    return {
        "unblended_cost": _round(unblended.sum()),
        "amortized_cost": _round(amortized.sum()),
        "by_charge_type": {
            str(t): {
                "unblended_cost": _round(r["unblended"]),
                "amortized_cost": _round(r["amortized"]),
            }
            for t, r in by_type.iterrows()
        },
    }


def money_truth(lines: L.Lines, rt: pd.DataFrame, schema: str) -> dict[str, Any]:
    """Totals per currency and per provider and currency, by charge type, as the files hold them.

    FOCUS bills Savings-Plan-covered usage at 0 and has no negation lines, so its unblended
    figure per charge type differs from CUR's there (the net total does not).
    """
    ltype = lines.ltype
    unblended = lines.values["unblended"]
    amortized = lines.amortized()
    keep = np.ones(len(lines), bool)
    if schema == "focus":
        keep = ltype != L.SP_NEGATION
        unblended = np.where(ltype == L.SP_COVERED, 0.0, unblended)
    names = np.array(L.LINE_TYPES)[ltype]
    currency = rt["currency"].to_numpy()[lines.res]
    provider = rt["provider"].to_numpy()[lines.res]
    by_currency: dict[str, Any] = {}
    by_provider: dict[str, Any] = {}
    for cur in sorted(set(currency[keep])):
        mine = keep & (currency == cur)
        by_currency[cur] = _money(unblended[mine], amortized[mine], names[mine])
        for prov in sorted(set(provider[mine])):
            theirs = mine & (provider == prov)
            by_provider.setdefault(prov, {})[cur] = _money(
                unblended[theirs], amortized[theirs], names[theirs]
            )
    return {"by_currency": by_currency, "by_provider": by_provider}
