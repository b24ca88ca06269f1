"""Data protection: what the deployment's ``data_protection.yaml`` says and the code that enforces it.

- :mod:`.settings`: the file's model (PII actions per class and entity, retention per zone, buckets' and
  warehouses' regions and at-rest encryption), read once per process.
"""
