"""Each command line option is written in several places; this test checks
that they agree, so that none of them can drift (issue 18, item 8).

For aiojobctl, per scope (the global options, each subcommand, and each
submit kind's own options), four sets of long options:

* the program: every candidate name is tried on the real aiojobctl, which
  says "unknown option" for one it does not take, "needs a value" for one
  that takes a value and "takes no value" for a flag given "=x", naming
  the option it matched (not a prefix of it).  The
  candidates are the names the other three sources give, plus the quoted
  names that open a table row in client/*.c, so that an option no document
  names is found too (the scope is still the program's answer, not the C);
* its --help text: its option lines (and the usage line's --help and
  --version for the global options); the usage lines are compared with
  the man page's synopsis lines in a test of their own;
* the man page docs/aiojobctl.1.scd (GLOBAL OPTIONS, SUBCOMMANDS);
* the bash completion client/aiojobctl.bash, run as bash runs it.

They must name the same options, and agree on which take a value.  --help
is taken by every subcommand: the texts say so once, the completion offers
it everywhere.  For aiojobsd: aiojobsd --help, docs/aiojobsd.8.scd
(OPTIONS) and the program, short options too."""

import atexit
import concurrent.futures
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
CTL_MAN = os.path.join(SOURCE_ROOT, "docs", "aiojobctl.1.scd")
CTL_BASH = os.path.join(SOURCE_ROOT, "client", "aiojobctl.bash")
D_MAN = os.path.join(SOURCE_ROOT, "docs", "aiojobsd.8.scd")

# An option name, and what may follow it to say that it takes a value: a
# metavariable such as FILE, 'Name: value' or safe|fast (help text), or
# _FILE_, '_Name_ or *safe*| (man page).
NAME = r"--?[a-z][a-z0-9-]*"
HELP_OPT = re.compile(r"(?<![\w-])(%s)(?=[ =]([A-Z'][^\s\]]*|[a-z]+(?:\|"
                      r"[a-z]+)+)(?:[\s\]]|$))?" % NAME)
MAN_OPT = re.compile(r"\*(%s)\*(?=( _| '_| \*[a-z]+\*\|))?" % NAME)

_tmp = None


def tmpdir():
    """A private directory: the cwd and run directory of every probe."""
    global _tmp
    if _tmp is None:
        _tmp = tempfile.mkdtemp(prefix="aiojobs-cliopts-")
        atexit.register(shutil.rmtree, _tmp, True)
    return _tmp


def run(argv, env=None, timeout=30):
    """Run a command in tmpdir(); return (rc, stdout, stderr)."""
    e = harness.clean_env(LC_ALL="C", AIOJOBS_RUNDIR=tmpdir(),
                          AIOJOBS_STATE_DIR=os.path.join(tmpdir(), "state"))
    e.update(env or {})
    try:
        p = subprocess.run(argv, capture_output=True, text=True, env=e,
                           errors="replace", timeout=timeout, cwd=tmpdir(),
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise AssertionError("%s did not finish in %s s"
                             % (" ".join(argv), timeout))
    return p.returncode, p.stdout, p.stderr


def parallel(fn, items):
    """fn over items, a few at a time; the results in order."""
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        return list(pool.map(fn, items))


def usage_opts(text):
    """{option: takes a value} for the options a usage line names."""
    return {m.group(1): m.group(2) is not None
            for m in HELP_OPT.finditer(text)}


def help_entry_opts(text):
    """{option: takes a value} for the option lines of a --help text,
    those that start with an option after two spaces; an entry such as
    '-c, --config FILE' gives both names its value."""
    opts = {}
    for line in text.splitlines():
        m = re.match(r" {2}(-\S.*?)(?: {2,}|$)", line)
        if m is None:
            continue
        found = list(HELP_OPT.finditer(m.group(1)))
        for f in found:
            opts[f.group(1)] = found[-1].group(2) is not None
    return opts


def man_entry_opts(lines):
    """{option: takes a value} for the entries of a man page part: lines
    that start with an option in bold, such as *-h*, *--help*, over an
    indented description."""
    opts = {}
    for line, below in zip(lines, lines[1:]):
        if not line.startswith("*-") or not below.startswith("\t"):
            continue
        found = list(MAN_OPT.finditer(line))
        for f in found:
            opts[f.group(1)] = found[-1].group(2) is not None
    return opts


def man_opts(lines):
    """{option: takes a value} for every option in bold in these lines."""
    return {m.group(1): m.group(2) is not None
            for m in MAN_OPT.finditer("\n".join(lines))}


def man_parts(path):
    """The lines of a man page (scdoc) by heading: {"# NAME": [...],
    "## name": [...]}; the lines under a level-2 heading belong to it
    only, and are not repeated in its level-1 heading's part, except
    for GLOBAL OPTIONS, which keeps its TLS OPTIONS."""
    parts = {}
    top = cur = ""
    with open(path, encoding="utf-8") as f:
        for line in f.read().splitlines():
            if line.startswith("# "):
                top = cur = line
            elif line.startswith("## "):
                cur = top if top == "# GLOBAL OPTIONS" else line
            parts.setdefault(cur, []).append(line)
    return parts


def compare(scope, sources, errors):
    """Append to errors each option a source lacks and each value
    disagreement; sources: [(source name, {option: takes a value})]."""
    names = set()
    for _, opts in sources:
        names |= set(opts)
    for name in sorted(names):
        lacking = [s for s, opts in sources if name not in opts]
        if lacking:
            having = [s for s, opts in sources if name in opts]
            errors.append("%s: %s is in %s but not in %s"
                          % (scope, name, ", ".join(having),
                             ", ".join(lacking)))
            continue
        values = {s: opts[name] for s, opts in sources}
        if len(set(values.values())) > 1:
            errors.append("%s: %s takes a value in %s only"
                          % (scope, name, ", ".join(
                              s for s, v in values.items() if v)))


def report(errors, what):
    check(not errors, "%s disagree:\n  %s", what, "\n  ".join(errors))


# ---------------------------------------------------------------------------
# aiojobctl
# ---------------------------------------------------------------------------

NOWHERE = ["--url", "ipc://%s/none.sock", "--events-url",
           "ipc://%s/none-events.sock"]


def ctl(args):
    """Run aiojobctl, its endpoints in a directory where nothing listens."""
    return run([harness.AIOJOBCTL] + [a % tmpdir() if "%s" in a else a
                                      for a in NOWHERE] + args)


def ctl_probe(prefix, opt):
    """Whether aiojobctl PREFIX... takes opt: None (no), True (with a
    value) or False (a flag).  getopt_long takes a unique prefix for the
    whole name, and aiojobctl's message names the option it matched: only
    that name counts, so --data is not taken for --data-file."""
    _, _, err = ctl(prefix + [opt + "=x"])
    if "option '%s' takes no value" % opt in err:
        return False
    if "unknown option '%s=x'" % opt in err or "takes no value" in err:
        return None
    _, _, err = ctl(prefix + [opt])
    if "option '%s' needs a value" % opt in err:
        return True
    return None


def complete(*words):
    """What the completion function offers for aiojobctl WORDS..., the
    last word being completed."""
    prog = ("source \"$1\" || exit 3; shift\n"
            "COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1))\n"
            "COMP_LINE=\"$*\"; COMP_POINT=${#COMP_LINE}\n"
            "_aiojobctl aiojobctl \"${COMP_WORDS[COMP_CWORD]}\" "
            "\"${COMP_WORDS[COMP_CWORD-1]}\" || exit 5\n"
            "printf '%s\\n' \"${COMPREPLY[@]}\"\n")
    rc, out, err = run(["bash", "--norc", "--noprofile", "-c", prog, "bash",
                        CTL_BASH, "aiojobctl"] + list(words))
    check(rc == 0 and err == "", "completing aiojobctl %s: rc %d, %r",
          " ".join(words), rc, err)
    return set(out.split())


def completion_takes_value(names):
    """The names for which _aiojobctl_takes_value says yes."""
    prog = ("source \"$1\" || exit 3; shift\n"
            "for o; do _aiojobctl_takes_value \"$o\" && echo \"$o\"; "
            "done; true\n")
    rc, out, err = run(["bash", "--norc", "--noprofile", "-c", prog, "bash",
                        CTL_BASH] + sorted(names))
    check(rc == 0 and err == "", "_aiojobctl_takes_value: rc %d, %r", rc,
          err)
    return set(out.split())


def ctl_help(*args):
    rc, out, err = ctl(list(args) + ["--help"])
    eq(rc, 0, "aiojobctl %s --help (%r)" % (" ".join(args), err))
    return out


def ctl_help_parts():
    """{scope: {option: takes a value}} from the --help texts."""
    main = ctl_help()
    usage, rest = main.split("\nsubcommands:\n")
    cmds = re.findall(r"^  ([a-z]+)", rest.split("\n\n")[0], re.M)
    # "aiojobctl --help | --version", the usage's last line
    parts = {"aiojobctl": usage_opts(usage.strip().split("\n")[-1])}
    parts["aiojobctl"].update(help_entry_opts(rest.split("\n\n", 1)[1]))
    for cmd in cmds:
        body = ctl_help(cmd).split("\n", 1)[1]
        if cmd != "submit":
            parts[cmd] = help_entry_opts(body)
            continue
        parts[cmd] = {}
        # submit: "kinds:", "KIND options (...):", "options (before KIND):"
        scope = cmd
        for block in re.split(r"\n(?=\S[^\n]*:\n)", body):
            head = block.split("\n", 1)[0]
            m = re.match(r"([a-z]+) options \(", head)
            if m is not None:
                scope = "submit " + m.group(1)
            elif head.startswith("options ("):
                scope = cmd
            elif head == "kinds:":
                for k in re.findall(r"^  ([a-z]+)\b", block, re.M):
                    parts.setdefault("submit " + k, {})
                continue
            parts.setdefault(scope, {}).update(help_entry_opts(block))
    return parts


def ctl_man_parts():
    """{scope: {option: takes a value}} from the man page; the submit
    section is split at "Options of *KIND*"."""
    man = man_parts(CTL_MAN)
    parts = {"aiojobctl": man_entry_opts(man["# GLOBAL OPTIONS"])}
    for head, lines in man.items():
        if not head.startswith("## "):
            continue
        scope = head[3:]
        parts[scope] = {}
        for i, line in enumerate(lines):
            m = re.match(r"Options of \*([a-z]+)\*", line)
            k = re.match(r"\*([a-z]+)\* ", line)
            if k is not None and scope == "submit":
                parts.setdefault("submit " + k.group(1), {})
            if m is not None:
                scope = "submit " + m.group(1)
            elif line.startswith("Options before the kind"):
                scope = "submit"
            parts.setdefault(scope, {}).update(
                man_entry_opts(lines[i:i + 2]))
    return parts


def scope_words(scope):
    """The words that lead to a scope's options: "submit exec" for the
    scope "submit exec", none for "aiojobctl" (the global options)."""
    return [] if scope == "aiojobctl" else scope.split()


def ctl_completion_parts(scopes):
    """{scope: set of options} that the completion offers after "--"
    (after a function name for cpu, whose first word is one)."""
    parts = {}
    for scope in scopes:
        words = scope_words(scope) + (["spin"] if scope == "submit cpu"
                                      else [])
        got = complete(*(words + ["--"]))
        parts[scope] = {w for w in got if re.fullmatch(NAME, w)}
    return parts


def ctl_candidates(*parts):
    """Every option name the sources give, and the quoted names that open
    a table row in client/*.c ({ "name", ...), as --name."""
    names = set()
    for p in parts:
        for opts in p.values():
            names |= set(opts)
    for path in glob.glob(os.path.join(SOURCE_ROOT, "client", "*.c")):
        with open(path, encoding="utf-8") as f:
            names |= {"--" + n for n in re.findall(
                r"\{\s*\"([a-z][a-z0-9-]*)\",", f.read())}
    return {n for n in names if n.startswith("--")}


def ctl_program_parts(scopes, candidates):
    """{scope: {option: takes a value}} as aiojobctl answers."""
    jobs = [(s, c) for s in scopes for c in sorted(candidates)]
    res = parallel(lambda j: ctl_probe(scope_words(j[0]), j[1]), jobs)
    parts = {s: {} for s in scopes}
    for (s, c), r in zip(jobs, res):
        if r is not None:
            parts[s][c] = r
    return parts


def check_help_everywhere(scopes, prog, comp):
    """--help: taken by every subcommand (not by a kind) before any "--",
    offered by the completion, said once in the --help text and the man
    page; then dropped from the subcommands' sets, which compare the
    rest."""
    errors = []
    main = ctl_help()
    check("Each subcommand takes --help" in main,
          "aiojobctl --help does not say that each subcommand takes --help")
    with open(CTL_MAN, encoding="utf-8") as f:
        check("Each subcommand takes *--help*" in f.read(),
              "the man page does not say that each subcommand takes --help")
    for scope in scopes:
        if scope == "aiojobctl" or scope.startswith("submit "):
            continue
        # Seen before getopt, so the probe's --help=x is not --help.
        prog[scope].pop("--help", None)
        if not ctl_help(scope).startswith("usage: aiojobctl %s" % scope):
            errors.append("%s: --help prints no usage" % scope)
        if "--help" not in comp[scope]:
            errors.append("%s: the completion does not offer --help" % scope)
        comp[scope].discard("--help")
    report(errors, "--help of the subcommands")


def long_options(opts):
    """opts without its short options (-h): aiojobctl compares long ones."""
    return {o: v for o, v in opts.items() if o.startswith("--")}


def test_aiojobctl_options():
    """Per scope, the program, --help, the man page and the completion
    take or name the same long options, with or without a value."""
    helps = ctl_help_parts()
    mans = ctl_man_parts()
    scopes = sorted(set(helps) | set(mans))
    eq(sorted(set(helps) ^ set(mans)), [],
       "scopes (aiojobctl, subcommands, submit kinds) that --help and the "
       "man page do not share")
    comps = ctl_completion_parts(scopes)
    cands = ctl_candidates(helps, mans, {s: dict.fromkeys(o)
                                         for s, o in comps.items()})
    progs = ctl_program_parts(scopes, cands)
    check_help_everywhere(scopes, progs, comps)
    valued = completion_takes_value(cands)
    errors = []
    for scope in scopes:
        comp = {o: o in valued for o in comps[scope]}
        compare(" ".join(["aiojobctl"] + scope_words(scope)),
                [("the program", long_options(progs[scope])),
                 ("its --help", long_options(helps[scope])),
                 ("docs/aiojobctl.1.scd", long_options(mans[scope])),
                 ("client/aiojobctl.bash", comp)], errors)
    report(errors, "The options of aiojobctl")


def test_aiojobctl_synopsis():
    """Each usage line of --help and its SYNOPSIS line in the man page
    name the same options."""
    man = man_parts(CTL_MAN)
    errors = []
    main = ctl_help().split("\nsubcommands:\n")
    synopsis = [line for line in man["# SYNOPSIS"]
                if line.startswith("*aiojobctl*")]
    compare("aiojobctl usage", [
        ("its --help", usage_opts(main[0])),
        ("docs/aiojobctl.1.scd", man_opts(synopsis))], errors)
    for cmd in re.findall(r"^  ([a-z]+)", main[1].split("\n\n")[0], re.M):
        lines = [line for line in man.get("## " + cmd, [])
                 if line.startswith("*aiojobctl %s*" % cmd)]
        compare("aiojobctl %s usage" % cmd, [
            ("its --help", usage_opts(ctl_help(cmd).split("\n", 1)[0])),
            ("docs/aiojobctl.1.scd", man_opts(lines))], errors)
    report(errors, "The usage lines of aiojobctl")


# ---------------------------------------------------------------------------
# aiojobsd
# ---------------------------------------------------------------------------

def daemon(args):
    """aiojobsd --check-config ARGS: never a running daemon."""
    return run([harness.AIOJOBSD, "--check-config"] + args)


def daemon_probe(opt):
    """(the full name aiojobsd takes for opt, whether it takes a value),
    or None; glibc's getopt_long names the option it matched."""
    _, _, err = daemon([opt])
    if opt.startswith("--"):
        m = re.search(r"option '(--[a-z0-9-]+)' requires an argument", err)
        if m is not None:
            return m.group(1), True
        if "unrecognized option" in err or "is ambiguous" in err:
            return None
        _, _, err = daemon([opt + "=x"])
        m = re.search(r"option '(--[a-z0-9-]+)' doesn't allow an argument",
                      err)
        return (m.group(1), False) if m is not None else None
    if "invalid option" in err:
        return None
    return opt, "option requires an argument" in err


def test_aiojobsd_options():
    """aiojobsd, its --help and aiojobsd.8 have the same options, short
    and long, with or without a value.  The candidates tried on the
    program are those of --help and the man page and the quoted words of
    main.c and config.c (the table of config keys holds the flags)."""
    rc, text, err = run([harness.AIOJOBSD, "--help"])
    eq(rc, 0, "aiojobsd --help (%r)" % err)
    helps = help_entry_opts(text)
    man = man_parts(D_MAN)
    mans = man_entry_opts(man["# OPTIONS"])
    names = set(helps) | set(mans)
    for path in ("main.c", "config.c"):
        with open(os.path.join(SOURCE_ROOT, "daemon", path),
                  encoding="utf-8") as f:
            names |= {"--" + n for n in re.findall(r"\"([a-z][a-z0-9-]*)\"",
                                                   f.read())}
    progs = dict(r for r in parallel(daemon_probe, sorted(names)) if r)
    errors = []
    compare("aiojobsd", [("the program", progs), ("its --help", helps),
                         ("docs/aiojobsd.8.scd", mans)], errors)
    report(errors, "The options of aiojobsd")


if __name__ == "__main__":
    harness.main()
