"""Instance hygiene, store health and alerts: pure computations (no dagster import); ``defs/hygiene.py``,
``defs/alerts.py`` wire them."""
