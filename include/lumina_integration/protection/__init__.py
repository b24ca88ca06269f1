"""Data protection: what the deployment's ``data_protection.yaml`` says and the code that enforces it.

- :mod:`.settings`: the file's model (PII actions per class and entity, retention per zone, buckets' and
  warehouses' regions and at-rest encryption), read once per process.
- :mod:`.keys`: the PII keys from their Airflow connection; :mod:`.key_admin` adds and retires keys.
- :mod:`.crypto`: the token, ciphertext and mask formats (one value, Arrow arrays).
- :mod:`.policy`: an entity's action per column, applied to canonical tables.
"""
