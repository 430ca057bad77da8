"""Report building: Plotly charts, Jinja rendering, the email variant."""
