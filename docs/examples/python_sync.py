#!/usr/bin/env python3
"""The blocking Python client: run two commands and a sleep, print what
they wrote. Reaches the daemon by aiojobctl's rules (AIOJOBS_URL,
AIOJOBS_RUNDIR, ...). In the source tree: PYTHONPATH=client/python."""

import aiojobsd

with aiojobsd.Client(timeout=10) as jobs:
    print("daemon", jobs.ping()["version"])
    events = jobs.events("job.", timeout=10)   # subscribed from here on
    a = jobs.submit("exec", argv=["uname", "-s"], queue="examples",
                    timeout=60)
    b = jobs.submit("exec", argv=["sh", "-c", "exit 3"], queue="examples")
    c = jobs.submit("sleep", ms=200)
    done, pending = jobs.wait([a, b, c], timeout=60)
    print("%d done, %d pending" % (len(done), len(pending)))
    print("uname:", a.result()["stdout"].strip())
    try:
        b.result()
    except aiojobsd.JobFailed as e:
        print("job %d failed: %s (%s)" % (b.id, e.message, e.code))
    for ev in events:
        print("event:", ev.topic, "job", ev.job["id"])
        if ev.job["id"] == c.id and ev.topic == "job.succeeded":
            break
