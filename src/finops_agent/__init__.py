"""finops-agent: FinOps analysis of AWS cost data with stored SQL, insights and reports."""

__version__ = "0.1.0"
