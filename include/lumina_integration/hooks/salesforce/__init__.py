"""Salesforce adapter: OAuth, resilient REST and Bulk 2.0 extraction, typing from describe."""
