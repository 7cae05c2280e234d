"""Installation: meson install into a DESTDIR lays out the binaries, the
plugin header and example plugin, libaiojobs (header, shared library
with its soname links, pkg-config file, man page), the systemd units and sysusers file, the
default configuration, the man pages and the bash completion under the
configured prefix; a second build with another --prefix follows it (unit
ExecStart, compiled-in defaults, man pages). Also the bash completion of
aiojobctl, against aiojobctl --help.

Needs MESON_BUILD_ROOT and MESON_SOURCE_ROOT (set by meson.build)."""

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.environ.get("MESON_SOURCE_ROOT",
                             os.path.dirname(os.path.dirname(HERE)))
COMPLETION = os.path.join(SOURCE_ROOT, "client", "aiojobctl.bash")
OTHER_PREFIX = "/opt/aiojobs"

# Keys whose default depends on the user and environment, not the build.
ENV_KEYS = {"rundir", "url", "events_url", "state_dir", "workers"}


def run(argv, timeout=120, env=None, cwd=None, ok=True):
    """Run a command; return (rc, stdout, stderr). ok: it must exit 0."""
    try:
        p = subprocess.run([str(a) for a in argv], capture_output=True,
                           text=True, errors="replace", timeout=timeout,
                           env=env, cwd=cwd, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise AssertionError("%s did not finish in %s s"
                             % (" ".join(map(str, argv)), timeout))
    if ok and p.returncode != 0:
        raise AssertionError("%s: exit status %d\nstdout: %s\nstderr: %s"
                             % (" ".join(map(str, argv)), p.returncode,
                                p.stdout[-3000:], p.stderr[-3000:]))
    return p.returncode, p.stdout, p.stderr


def build_root():
    root = os.environ.get("MESON_BUILD_ROOT")
    check(root and os.path.isfile(os.path.join(root, "build.ninja")),
          "MESON_BUILD_ROOT (%r) is not a configured build directory", root)
    return root


def build_options(builddir):
    """The build's directory options, as meson introspect gives them."""
    _, out, _ = run(["meson", "introspect", "--buildoptions", builddir])
    return {o["name"]: o["value"] for o in json.loads(out)}


def project_version(builddir):
    _, out, _ = run(["meson", "introspect", "--projectinfo", builddir])
    return json.loads(out)["version"]


def install(builddir, destdir):
    run(["meson", "install", "-C", builddir, "--destdir", destdir,
         "--no-rebuild", "--quiet"], timeout=300)


def optdir(opts, name):
    """Directory option name as an absolute path (relative ones are under
    the prefix; meson makes sysconfdir /etc for the prefix /usr)."""
    return os.path.join(opts["prefix"], opts[name])


def under(destdir, path):
    return os.path.join(destdir, path.lstrip("/"))


def check_file(path, executable=False):
    check(os.path.isfile(path), "not installed: %s", path)
    if executable:
        mode = os.stat(path).st_mode
        check(mode & stat.S_IXUSR and mode & stat.S_IXOTH,
              "not executable: %s (mode %o)", path, stat.S_IMODE(mode))


def roff_text(path):
    """A man page's roff source without scdoc's \\& (zero-width) escapes."""
    with open(path) as f:
        return f.read().replace("\\&", "")


def check_man_page(path):
    check_file(path)
    text = roff_text(path)
    check(".TH" in text and ".SH" in text, "%s is not a man page", path)
    if shutil.which("groff"):
        rc, out, err = run(["groff", "-man", "-Tutf8", "-ww", "-z", path],
                           ok=False)
        check(rc == 0 and err.strip() == "",
              "groff on %s: rc %d, %s", path, rc, err)


def layout(opts, plugin_dir):
    """Every file the build installs, by what it is."""
    sysconf = optdir(opts, "sysconfdir")
    prefix = opts["prefix"]
    mandir = optdir(opts, "mandir")
    return {
        "aiojobctl": os.path.join(optdir(opts, "bindir"), "aiojobctl"),
        "aiojobsd": os.path.join(optdir(opts, "sbindir"), "aiojobsd"),
        "header": os.path.join(optdir(opts, "includedir"),
                               "aiojobs_plugin.h"),
        "plugin": os.path.join(plugin_dir, "example.so"),
        "lib_header": os.path.join(optdir(opts, "includedir"), "aiojobs.h"),
        "lib": os.path.join(optdir(opts, "libdir"), "libaiojobs.so.0.1.0"),
        "lib_soname": os.path.join(optdir(opts, "libdir"),
                                   "libaiojobs.so.0"),
        "lib_dev": os.path.join(optdir(opts, "libdir"), "libaiojobs.so"),
        "pc": os.path.join(optdir(opts, "libdir"), "pkgconfig",
                           "aiojobs.pc"),
        "unit": os.path.join(prefix, "lib/systemd/system/aiojobsd.service"),
        "user_unit": os.path.join(prefix,
                                  "lib/systemd/user/aiojobsd.service"),
        "sysusers": os.path.join(prefix, "lib/sysusers.d/aiojobsd.conf"),
        "conf": os.path.join(sysconf, "aiojobsd/aiojobsd.conf"),
        "man8": os.path.join(mandir, "man8/aiojobsd.8"),
        "man1": os.path.join(mandir, "man1/aiojobctl.1"),
        "man5": os.path.join(mandir, "man5/aiojobsd.conf.5"),
        "man3": os.path.join(mandir, "man3/aiojobs.3"),
        "completion": os.path.join(optdir(opts, "datadir"),
                                   "bash-completion/completions/aiojobctl"),
    }


def check_config(aiojobsd, conf, env=None):
    """aiojobsd --check-config --config conf: the printed keys by
    (section, key)."""
    _, out, _ = run([aiojobsd, "--check-config", "--config", conf],
                    env=harness.clean_env(**(env or {})))
    keys, section = {}, None
    for line in out.splitlines():
        m = re.fullmatch(r"\[(.+)\]", line)
        if m:
            section = m.group(1)
            continue
        m = re.fullmatch(r"(\w+) = ?(.*)", line)
        if m:
            keys[(section, m.group(1))] = m.group(2)
    check(keys, "--check-config printed no keys:\n%s", out)
    return keys


def check_installed(destdir, opts, plugin_dir, version):
    """The files of one installation and what they say about the prefix."""
    files = {k: under(destdir, p)
             for k, p in layout(opts, plugin_dir).items()}
    for k in ("aiojobctl", "aiojobsd"):
        check_file(files[k], executable=True)
    for k in ("header", "plugin", "unit", "user_unit", "sysusers", "conf",
              "completion", "lib_header", "lib", "pc"):
        check_file(files[k])
    for k in ("man8", "man1", "man5", "man3"):
        check_man_page(files[k])
    check_library(files, opts)

    aiojobsd = files["aiojobsd"]
    _, out, _ = run([aiojobsd, "--version"], env=harness.clean_env())
    eq(out.strip(), "aiojobsd %s" % version, "installed aiojobsd --version")
    _, out, _ = run([files["aiojobctl"], "--version"])
    eq(out.strip(), "aiojobctl %s" % version, "installed aiojobctl --version")

    # The compiled-in defaults and the unit follow the prefix.
    keys = check_config(aiojobsd, files["conf"])
    eq(keys[("pool", "plugin_dir")], plugin_dir, "compiled-in plugin_dir")
    sbin_aiojobsd = layout(opts, plugin_dir)["aiojobsd"]
    with open(files["unit"]) as f:
        unit = f.read()
    check(re.search(r"^ExecStart=%s(\s|$)" % re.escape(sbin_aiojobsd), unit,
                    re.M), "unit's ExecStart is not %s:\n%s",
          sbin_aiojobsd, unit)
    with open(files["user_unit"]) as f:
        unit = f.read()
    check(re.search(r"^ExecStart=%s(\s|$)" % re.escape(sbin_aiojobsd), unit,
                    re.M), "user unit's ExecStart is not %s:\n%s",
          sbin_aiojobsd, unit)
    _, out, _ = run([aiojobsd, "--help"], env=harness.clean_env())
    conf_path = layout(opts, plugin_dir)["conf"]
    check(conf_path in out, "aiojobsd --help does not name %s", conf_path)
    check(plugin_dir in out, "aiojobsd --help does not name %s", plugin_dir)
    for k in ("man8", "man5"):
        text = roff_text(files[k])
        check(conf_path in text, "%s does not name %s", k, conf_path)
        check(plugin_dir in text, "%s does not name %s", k, plugin_dir)
        check(not re.search(r"@[A-Z_]+@", text),
              "%s has an unreplaced @VAR@", k)
    with open(files["conf"]) as f:
        check(not re.search(r"@[A-Z_]+@", f.read()),
              "aiojobsd.conf has an unreplaced @VAR@")
    with open(files["completion"]) as f, open(COMPLETION) as g:
        check(f.read() == g.read(), "installed completion differs from %s",
              COMPLETION)
    return files


def check_library(files, opts):
    """libaiojobs: the soname links, the soname, and a .pc that names the
    prefix's directories."""
    eq(os.readlink(files["lib_soname"]), "libaiojobs.so.0.1.0",
       "libaiojobs.so.0 link")
    eq(os.readlink(files["lib_dev"]), "libaiojobs.so.0", "libaiojobs.so link")
    _, out, _ = run(["objdump", "-p", files["lib"]])
    check(re.search(r"SONAME\s+libaiojobs\.so\.0$", out, re.M),
          "soname of libaiojobs is not libaiojobs.so.0:\n%s", out)
    with open(files["pc"]) as f:
        pc = f.read()
    check(re.search(r"^prefix=%s$" % re.escape(opts["prefix"]), pc, re.M),
          "aiojobs.pc does not name the prefix:\n%s", pc)
    check(re.search(r"^Libs:.*-laiojobs", pc, re.M),
          "aiojobs.pc does not link -laiojobs:\n%s", pc)


def uncommented(conf_text):
    """The default configuration with each '#key = value' line (and the
    [queue.NAME] example and [access]) uncommented, but for placeholders."""
    out = []
    for line in conf_text.splitlines():
        m = re.fullmatch(r"#(\[queue\.\w+\]|\[access\]|\w+ =.*)", line)
        if m and "ONLINE_CORES" not in line:
            line = m.group(1)
        out.append(line)
    return "\n".join(out) + "\n"


def test_install_layout():
    builddir = build_root()
    opts = build_options(builddir)
    version = project_version(builddir)
    _, out, _ = run([harness.AIOJOBSD, "--check-config", "--config",
                     "/dev/null"], env=harness.clean_env())
    plugin_dir = re.search(r"^plugin_dir = (.*)$", out, re.M).group(1)
    check(plugin_dir.startswith(opts["prefix"] + "/"),
          "plugin_dir %s is not under the prefix %s", plugin_dir,
          opts["prefix"])
    destdir = tempfile.mkdtemp(prefix="aj-install-")
    try:
        install(builddir, destdir)
        files = check_installed(destdir, opts, plugin_dir, version)
        check_default_conf(files["aiojobsd"], files["conf"])
        check_completion(files["completion"])
    finally:
        shutil.rmtree(destdir, ignore_errors=True)


def check_default_conf(aiojobsd, conf):
    """Every key is in the file, and uncommenting the file changes
    nothing but the [queue.NAME] example."""
    defaults = check_config(aiojobsd, "/dev/null")
    with open(conf) as f:
        text = f.read()
    for line in text.splitlines():
        check(len(line) <= 80, "line longer than 80 columns: %r", line)
    section = None
    listed = set()
    for line in uncommented(text).splitlines():
        m = re.fullmatch(r"\[(.+)\]", line)
        if m:
            section = m.group(1)
        m = re.fullmatch(r"#?(\w+) =.*", line)
        if m:
            listed.add((section, m.group(1)))
    missing = sorted(set(defaults) - listed)
    check(not missing, "keys missing from %s: %s", conf, missing)
    tmp = tempfile.mkdtemp(prefix="aj-conf-")
    try:
        path = os.path.join(tmp, "uncommented.conf")
        with open(path, "w") as f:
            f.write(uncommented(text))
        keys = check_config(aiojobsd, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for k, v in defaults.items():
        if k[1] in ENV_KEYS:
            continue
        eq(keys.get(k), v, "[%s] %s once uncommented" % k)
    extra = sorted(k for k in keys if k not in defaults)
    check(extra and all(s.startswith("queue.") for s, _ in extra),
          "the [queue.NAME] example did not take: %s", extra)


def test_install_other_prefix():
    """A build configured with --prefix=/opt/aiojobs installs there and its
    daemon and unit name paths there."""
    if harness.SANITIZED:
        print("  (not repeated in the sanitizer build: the second build "
              "is a plain one either way)")
        return
    tmp = tempfile.mkdtemp(prefix="aj-prefix-")
    try:
        b2 = os.path.join(tmp, "b2")
        destdir = os.path.join(tmp, "dest")
        run(["meson", "setup", b2, "--prefix=" + OTHER_PREFIX,
             "-Dtests=false", "--buildtype=plain"], cwd=SOURCE_ROOT,
            timeout=300)
        run(["ninja", "-C", b2], timeout=500)
        install(b2, destdir)
        opts = build_options(b2)
        eq(opts["prefix"], OTHER_PREFIX, "prefix")
        plugin_dir = os.path.join(OTHER_PREFIX, opts["libdir"], "aiojobsd",
                                  "plugins")
        files = check_installed(destdir, opts, plugin_dir,
                                project_version(b2))
        # The literal places, whatever meson's defaults say.
        for rel in ("bin/aiojobctl", "sbin/aiojobsd",
                    "include/aiojobs_plugin.h",
                    "include/aiojobs.h",
                    "lib/systemd/system/aiojobsd.service",
                    "lib/systemd/user/aiojobsd.service",
                    "lib/sysusers.d/aiojobsd.conf",
                    "etc/aiojobsd/aiojobsd.conf",
                    "share/man/man8/aiojobsd.8",
                    "share/man/man1/aiojobctl.1",
                    "share/man/man5/aiojobsd.conf.5",
                    "share/man/man3/aiojobs.3",
                    "share/bash-completion/completions/aiojobctl"):
            check_file(under(destdir, os.path.join(OTHER_PREFIX, rel)))
        check(re.fullmatch(re.escape(OTHER_PREFIX) +
                           r"/lib(/[\w-]+)?/aiojobsd/plugins", plugin_dir),
              "plugin_dir %s", plugin_dir)
        check_file(files["plugin"])
        outside = [p for p in walk(destdir)
                   if not p.startswith(under(destdir, OTHER_PREFIX) + "/")]
        check(not outside, "installed outside %s: %s", OTHER_PREFIX,
              outside)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def walk(top):
    for d, _, names in os.walk(top):
        for n in names:
            yield os.path.join(d, n)


# ---------------------------------------------------------------------------
# bash completion
# ---------------------------------------------------------------------------

def complete(script, *words):
    """What the completion function offers for the words typed, the last
    one being completed (split at '=' and ':' as COMP_WORDBREAKS does)."""
    split = []
    for w in words:
        split.extend(p for p in re.split(r"([=:])", w) if p != "" or
                     w == "")
    prog = ("source \"$1\" || exit 3; shift\n"
            "COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1))\n"
            "COMP_LINE=\"$*\"; COMP_POINT=${#COMP_LINE}\n"
            "complete -p aiojobctl >/dev/null || exit 4\n"
            "_aiojobctl aiojobctl \"${COMP_WORDS[COMP_CWORD]}\" "
            "\"${COMP_WORDS[COMP_CWORD-1]}\" || exit 5\n"
            "printf '%s\\n' \"${COMPREPLY[@]}\"\n")
    rc, out, err = run(["bash", "--norc", "--noprofile", "-c", prog, "bash",
                        script] + split, cwd=os.path.dirname(script),
                       env=harness.clean_env(), ok=False)
    check(rc == 0 and err == "", "completing %r: rc %d, stderr %r",
          " ".join(words), rc, err)
    return set(out.split())


def help_text(*args):
    _, out, _ = run([harness.AIOJOBCTL] + list(args) + ["--help"])
    return out


def help_options(text):
    """The options a --help names: in its usage line and at the start of
    its option lines."""
    opts = set(re.findall(r"--[a-z][a-z-]*", text.splitlines()[0]))
    opts.update(re.findall(r"^ {2}(--[a-z][a-z-]*)", text, re.M))
    return opts


def check_completion(script):
    check(complete(script, "aiojobctl", "su") == {"submit"},
          "aiojobctl su<TAB> is not submit")
    main = help_text()
    cmds = set(re.findall(r"^  ([a-z]+)", main.split("subcommands:")[1],
                          re.M))
    eq(complete(script, "aiojobctl", ""), cmds, "subcommands")
    eq(complete(script, "aiojobctl", "--"), help_options(main) |
       {"--help", "--version"}, "global options")
    for cmd in sorted(cmds):
        want = help_options(help_text(cmd)) | {"--help"}
        got = complete(script, "aiojobctl", cmd, "--")
        if cmd == "submit":
            got |= complete(script, "aiojobctl", "submit", "exec", "--")
            got |= complete(script, "aiojobctl", "submit", "cpu", "spin",
                            "--")
            got |= complete(script, "aiojobctl", "submit", "http",
                            "http://x/", "--")
        eq(sorted(want - got), [],
           "options of %s that completion lacks" % cmd)
    submit = help_text("submit")
    kinds = set(re.findall(r"^  ([a-z]+) ", submit.split("kinds:")[1]
                           .split("\n\n")[0], re.M))
    eq(complete(script, "aiojobctl", "submit", "--wait", ""), kinds,
       "submit kinds")
    states = re.search(r"--state S .*?\(([^)]*)\)", help_text("list"),
                       re.S).group(1)
    states = set(re.split(r",\s*", states.strip()))
    eq(complete(script, "aiojobctl", "list", "--state", ""), states,
       "list --state")
    eq(complete(script, "aiojobctl", "list", "--state=c"), {"cancelled"},
       "list --state=c")
    eq(complete(script, "aiojobctl", "clean", "--state", ""),
       {"succeeded", "failed", "cancelled"}, "clean --state")
    eq(complete(script, "aiojobctl", "queue", "q", ""),
       {"pause", "resume", "limit", "rate"}, "queue actions")
    eq(complete(script, "aiojobctl", "--url", "ipc:///x", "submit", "cpu",
                ""), {"sha256", "primes", "spin"}, "cpu functions")
    # Paths: the script's own directory holds aiojobctl.bash (or the
    # installed aiojobctl).
    base = os.path.basename(script)
    for words in (("submit", "--file"), ("submit", "exec", "--stdin-file"),
                  ("submit", "http", "u", "--data-file"),
                  ("submit", "exec", "--", "cat")):
        got = complete(script, "aiojobctl", *words, base[:3])
        check(base in got, "%s: no file completion (%s)", " ".join(words),
              got)
    check(complete(script, "aiojobctl", "submit", "exec", "--cwd", "") <=
          {n for n in os.listdir(os.path.dirname(script))
           if os.path.isdir(os.path.join(os.path.dirname(script), n))},
          "--cwd completes more than directories")


def test_bash_completion():
    check_completion(COMPLETION)


if __name__ == "__main__":
    harness.main()
