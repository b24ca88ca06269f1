"""The sandbox's own figures: seconds to generate N incidents, and Table API records/s serving pages of
``page`` rows over HTTPS to ``requests`` (keyset windows on ``(sys_updated_on, sys_id)``, raw values without
reference links, as the adapter reads).
"""

from __future__ import annotations

import time
from typing import Any

import requests


def run(incidents: int = 100_000, page: int = 10_000, pages: int = 5) -> dict[str, Any]:
    from lumina_sandbox.servicenow.instance import Instance
    from lumina_sandbox.servicenow.server import ServiceNowServer

    started = time.perf_counter()
    instance = Instance.generate(counts={"incident": incidents, "sc_req_item": 0, "change_request": 0})
    generated = time.perf_counter() - started
    served = 0
    with ServiceNowServer(instance) as server:
        session = requests.Session()
        session.trust_env = False
        session.verify = str(server.ca_path)
        session.auth = server.basic_auth
        url = f"{server.base_url}/api/now/table/incident"
        lower = ""
        started = time.perf_counter()
        for _ in range(pages):
            query = "ORDERBYsys_updated_on^ORDERBYsys_id"
            if lower:
                stamp, sys_id = lower.split("|")
                query = (
                    f"sys_updated_on>{stamp}^ORsys_updated_on={stamp}^sys_id>{sys_id}^NQsys_updated_on>{stamp}^" + query
                )
            response = session.get(
                url,
                params={"sysparm_query": query, "sysparm_limit": str(page), "sysparm_exclude_reference_link": "true"},
                timeout=300,
            )
            response.raise_for_status()
            rows = response.json()["result"]
            if not rows:
                break
            served += len(rows)
            lower = f"{rows[-1]['sys_updated_on']}|{rows[-1]['sys_id']}"
        serving = time.perf_counter() - started
    instance.close()
    return {
        "incidents": incidents,
        "generate_seconds": round(generated, 2),
        "page_rows": page,
        "records_served": served,
        "serve_seconds": round(serving, 2),
        "records_per_second": round(served / serving) if serving else None,
    }
