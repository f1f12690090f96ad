# superset_config.py is read by Superset (SUPERSET_CONFIG_PATH), not imported by the project; it
# needs SUPERSET_SECRET_KEY, so pytest's doctest collection leaves it alone.
collect_ignore = ["superset_config.py"]
