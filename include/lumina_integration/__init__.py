"""Lumina Integration Layer: Airflow-native batch ETL from enterprise systems to a warehouse and lake."""
