"""The contenders: built-in wrappers next to this file, `direct` (no proxy), and any
`--contender name=command` taking the classic `destination-host destination-port listen-port`."""
import os
import shlex
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
WRAPPERS = os.path.join(HERE, "contenders")
BUILTIN = ["tcpproxy", "refproxy", "haproxy", "nginx", "socat"]
NGINX_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"


class Contender:
    def __init__(self, name, command, missing=None, version=""):
        self.name, self.command, self.missing, self.version = name, command, missing, version

    @property
    def direct(self):
        return self.command is None


def _version(cmd):
    """The first output line that names a version."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    lines = (p.stdout + p.stderr).strip().splitlines()
    return next((line.strip() for line in lines if "version" in line.lower()), lines[0] if lines else "")


def _missing(name):
    """Why a built-in contender cannot run here, or None when it can."""
    if name == "tcpproxy":
        path = os.environ.get("TCPPROXY", os.path.join(TOP, "tcpproxy"))
        return None if os.access(path, os.X_OK) else f"{path} not built (make)"
    if name == "refproxy":
        path = os.environ.get("REFPROXY", os.path.join(TOP, "build/native/refproxy"))
        return None if os.access(path, os.X_OK) else f"{path} not built yet (make refproxy)"
    if name == "nginx" and not os.path.exists(os.environ.get("NGINX_STREAM_MODULE", NGINX_MODULE)):
        return "nginx stream module missing (apt package libnginx-mod-stream)"
    return None if shutil.which(name) else f"{name} not installed"


VERSIONS = {"haproxy": ["haproxy", "-v"], "nginx": ["nginx", "-v"], "socat": ["socat", "-V"]}


def builtin(name):
    missing = _missing(name)
    version = _version(VERSIONS[name]) if name in VERSIONS and not missing else ""
    return Contender(name, [os.path.join(WRAPPERS, name)], missing, version)


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
