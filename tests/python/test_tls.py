"""The Python client over tls+tcp://: both faces with a CA file, the
server name given apart from the URL's host, and a daemon whose
certificate the client does not trust (an error within the deadline).
Certificates are made at test time (tests/integration/test_tls.py)."""

import asyncio
import sys
import time
import unittest

sys.dont_write_bytecode = True
import support  # noqa: E402
from support import aiojobsd  # noqa: E402
import test_tls  # noqa: E402  (tests/integration)


class Tls(unittest.TestCase):
    def test_tls(self):
        with test_tls.Certs() as c:
            d, url = test_tls.tls_daemon(c, insecure_no_token="true")
            with d:
                with aiojobsd.Client(url, ca_file=c.ca) as cl:
                    self.assertTrue(cl.ping()["ok"])
                    j = cl.submit("sleep", ms=10)
                    self.assertGreaterEqual(j.result(timeout=10)["slept_ms"],
                                            10)
                by_addr = url.replace("localhost", "127.0.0.1")
                with aiojobsd.Client(by_addr, ca_file=c.ca,
                                     server_name="localhost") as cl:
                    self.assertTrue(cl.ping()["ok"])

                async def go():
                    async with aiojobsd.AsyncClient(url, ca_file=c.ca) as a:
                        j = await a.submit("sleep", ms=10)
                        return await j

                self.assertIn("slept_ms", asyncio.run(go()))
                t0 = time.monotonic()
                with aiojobsd.Client(url, timeout=3) as cl:
                    with self.assertRaises(aiojobsd.Unavailable):
                        cl.ping()
                self.assertLess(time.monotonic() - t0, 4)


if __name__ == "__main__":
    support.run()
