"""The contenders: built-in wrappers next to this file (some as variants that add options),
`direct` (no proxy), and any `--contender name=command` taking the classic
`destination-host destination-port listen-port`."""
import os
import shlex
import shutil
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
WRAPPERS = os.path.join(HERE, "contenders")
NGINX_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"

# name -> (wrapper in contenders/, options appended after the classic three arguments)
VARIANTS = {
    "tcpproxy": ("tcpproxy", []),  # the default: --splice auto
    "tcpproxy-off": ("tcpproxy", ["--splice", "off"]),
    "tcpproxy-splice": ("tcpproxy", ["--splice", "on"]),
    "tcpproxy-auto": ("tcpproxy", ["--splice", "auto"]),
    "tcpproxy-r2": ("tcpproxy", ["--reactors", "2"]),
    "tcpproxy-splice-r2": ("tcpproxy", ["--splice", "on", "--reactors", "2"]),
    "tcpproxy-auto-r2": ("tcpproxy", ["--splice", "auto", "--reactors", "2"]),
    "refproxy": ("refproxy", []),
    "refproxy-splice": ("refproxy", ["--splice"]),
    "libasync": ("libasync", []),
    "haproxy": ("haproxy", []),
    "nginx": ("nginx", []),
    "socat": ("socat", []),
}
BUILTIN = list(VARIANTS)
# What a full run and a --quick run take when --contenders is not given. The quick (smoke)
# run keeps to the default-argument contenders; socat is optional (one fork per connection).
DEFAULT_FULL = ["tcpproxy", "tcpproxy-off", "tcpproxy-splice", "tcpproxy-auto", "tcpproxy-r2", "tcpproxy-splice-r2",
                "tcpproxy-auto-r2", "refproxy", "refproxy-splice", "haproxy", "nginx"]
DEFAULT_QUICK = ["tcpproxy", "refproxy", "haproxy", "nginx", "socat"]
# The libasync peer (benchmarks/peers/libasync) builds only from an sfslite checkout: until it is
# built, a full run lists it as skipped, with the command that builds it.
DEFAULT_FULL.append("libasync")


class Contender:
    def __init__(self, name, command, missing=None, version="", extra_args=()):
        self.name, self.command, self.missing, self.version = name, command, missing, version
        self.extra_args = list(extra_args)  # after DEST_HOST DEST_PORT LISTEN_PORT

    @property
    def direct(self):
        return self.command is None

    def argv(self, host, dest_port, listen_port):
        return self.command + [host, str(dest_port), str(listen_port)] + self.extra_args


def _version(cmd):
    """The first output line that names a version."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    lines = (p.stdout + p.stderr).strip().splitlines()
    return next((line.strip() for line in lines if "version" in line.lower()), lines[0] if lines else "")


_BINARIES = {
    "tcpproxy": lambda: os.environ.get("TCPPROXY", os.path.join(TOP, "tcpproxy")),
    "refproxy": lambda: os.environ.get("REFPROXY", os.path.join(TOP, "build/native/refproxy")),
    "libasync": lambda: os.environ.get("LIBASYNC", os.path.join(TOP, "build/libasync/tcpproxy")),
}


def _missing(wrapper):
    """Why a built-in wrapper cannot run here, or None when it can."""
    if wrapper == "tcpproxy":
        path = os.environ.get("TCPPROXY", os.path.join(TOP, "tcpproxy"))
        return None if os.access(path, os.X_OK) else f"{path} not built (make)"
    if wrapper == "refproxy":
        path = os.environ.get("REFPROXY", os.path.join(TOP, "build/native/refproxy"))
        return None if os.access(path, os.X_OK) else f"{path} not built yet (make refproxy)"
    if wrapper == "libasync":
        path = _BINARIES["libasync"]()
        return None if os.access(path, os.X_OK) else (
            f"{path} not built (make libasync SFSLITE=/path/to/sfslite-checkout)")
    if wrapper == "nginx" and not os.path.exists(os.environ.get("NGINX_STREAM_MODULE", NGINX_MODULE)):
        return "nginx stream module missing (apt package libnginx-mod-stream)"
    return None if shutil.which(wrapper) else f"{wrapper} not installed"


def _rejects_options(c):
    """Start the variant once: None when it accepts connections, else why not — for a binary
    that does not know the option, its own one-line complaint (exit 2, "unrecognized…")."""
    import proxyproc  # here, not at the top: proxyproc needs nothing from us, but keep the import cheap
    with tempfile.TemporaryDirectory(prefix="bench-probe.") as scratch:
        dest_port, listen_port = proxyproc.free_ports(2)
        log = os.path.join(scratch, "probe.log")
        proxy = proxyproc.Proxy(c.name, c.argv(proxyproc.HOST, dest_port, listen_port), listen_port, log,
                                dict(os.environ, TMPDIR=scratch))
        try:
            proxy.wait_ready(timeout=10)
            return None
        except RuntimeError as e:
            with open(log, errors="replace") as f:
                lines = [line.strip() for line in f if line.strip()]
            said = next((line for line in lines if "unrecognized" in line.lower() or "usage" in line.lower()),
                        None)
            code = proxy.proc.returncode
            if said:
                return f"{' '.join(c.extra_args)} rejected (exit {code}): {said}"
            return f"{' '.join(c.extra_args)}: did not start: {e}"
        finally:
            proxy.stop()


VERSIONS = {"haproxy": ["haproxy", "-v"], "nginx": ["nginx", "-v"], "socat": ["socat", "-V"]}


def builtin(name, probe=True):
    """probe: start a variant with options once, so a binary without them is reported missing."""
    wrapper, extra = VARIANTS[name]
    missing = _missing(wrapper)
    version = _version(VERSIONS[wrapper]) if wrapper in VERSIONS and not missing else ""
    # The two proxies of this repository start straight from their binary: through
    # the bash wrapper, the start-up figure would carry bash's own start (~4 ms).
    binary = _BINARIES.get(wrapper)
    command = [binary()] if binary else [os.path.join(WRAPPERS, wrapper)]
    c = Contender(name, command, missing, version, extra)
    if probe and extra and not missing:
        c.missing = _rejects_options(c)
    return c


def custom(spec):
    """`name=command args...`: the proxy arguments are appended to the command."""
    if "=" not in spec:
        raise SystemExit(f"--contender wants name=command, got: {spec}")
    name, command = spec.split("=", 1)
    argv = shlex.split(command)
    if not name or not argv:
        raise SystemExit(f"--contender wants name=command, got: {spec}")
    found = shutil.which(argv[0]) or (os.access(argv[0], os.X_OK) and argv[0])
    return Contender(name, argv, None if found else f"{argv[0]} not found")


def direct():
    return Contender("direct", None)
