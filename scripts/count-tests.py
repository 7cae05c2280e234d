"""Count meson test results over testlog.json files; print N passed, N failed."""
import json
import sys


def main():
    passed = failed = skipped = 0
    for path in sys.argv[1:]:
        try:
            lines = open(path, encoding="utf-8").read().splitlines()
        except OSError as e:
            print(f"{path}: {e}")
            failed += 1
            continue
        for line in lines:
            if not line.strip():
                continue
            t = json.loads(line)
            if t["result"] in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif t["result"] == "SKIP":
                skipped += 1
            else:
                failed += 1
                print(f"FAILED: {path.split('/')[0]}: {t['name']} "
                      f"({t['result']})")
    if passed + failed == 0:
        failed = 1
        print("no test ran")
    tail = f", {skipped} skipped" if skipped else ""
    print(f"{passed} passed, {failed} failed{tail}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
