"""Drives the real novita-sandbox SDK against the stand-in platform: one SDK call per run,
named by the first argument with its parameters as JSON in the second, and what the SDK
returned (or the exception it raised) as JSON on stdout.

NOVITA_API_URL, NOVITA_API_KEY and NOVITA_DOMAIN come from the environment.
"""

import json
import sys

from novita_sandbox import Sandbox, SandboxQuery, SandboxState


def millis(t):
    return int(round(t.timestamp() * 1000))


def info(i):
    return {
        "id": i.sandbox_id,
        "template": i.template_id,
        "metadata": i.metadata,
        "state": i.state.value,
        "started_at_ms": millis(i.started_at),
        "end_at_ms": millis(i.end_at),
        "domain": i.sandbox_domain,
        "envd_token": i._envd_access_token,
        "lifecycle": i.lifecycle,
        "network": i.network,
        "allow_internet_access": i.allow_internet_access,
    }


def handle(sbx):
    return {
        "id": sbx.sandbox_id,
        "domain": sbx.sandbox_domain,
        "traffic_token": sbx.traffic_access_token,
        "envd_token": sbx._envd_access_token,
    }


def run(cmd, a):
    if cmd == "create":
        kwargs = {}
        if a.get("private"):
            kwargs["network"] = {"allow_public_traffic": False}
        if "lifecycle" in a:
            kwargs["lifecycle"] = a["lifecycle"]
        sbx = Sandbox.create(
            template=a["template"],
            timeout=a["timeout"],
            metadata=a.get("metadata"),
            envs=a.get("envs"),
            **kwargs,
        )
        return handle(sbx)
    if cmd == "list":
        states = a.get("states")
        query = SandboxQuery(
            metadata=a.get("metadata"),
            state=[SandboxState(s) for s in states] if states else None,
        )
        paginator = Sandbox.list(query=query, limit=a.get("limit"))
        pages = []
        while paginator.has_next:
            pages.append([info(i) for i in paginator.next_items()])
        return {"pages": pages}
    if cmd == "connect":
        return handle(Sandbox.connect(a["id"], timeout=a["timeout"]))
    if cmd == "set_timeout":
        Sandbox.set_timeout(a["id"], a["timeout"])
        return {}
    if cmd == "info":
        return info(Sandbox.get_info(a["id"]))
    if cmd == "pause":
        return {"id": Sandbox.pause(a["id"])}
    if cmd == "kill":
        return {"killed": Sandbox.kill(a["id"])}
    if cmd == "quota":
        return {"max_length_hours": Sandbox.get_quota().limit.max_length_hours}
    raise SystemExit(f"unknown command {cmd}")


def main():
    cmd = sys.argv[1]
    args = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    try:
        out = run(cmd, args)
    except Exception as e:  # reported to the test, which expects some of them
        out = {"error": type(e).__name__, "message": str(e)}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
