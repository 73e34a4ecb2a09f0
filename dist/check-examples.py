"""Checks the shipped deployment examples against the proxy they run.

The Kubernetes manifest must parse, probe the paths the proxy answers on the
port its --metrics names, give the drain its time (terminationGracePeriodSeconds
above preStop's wait plus --drain-timeout), and pass only options the binary
knows. Prints `dist-examples: N passed, M failed`.
Usage: check-examples.py TCPPROXY-BINARY MANIFEST
"""
import re
import subprocess
import sys

import yaml

binary, manifest = sys.argv[1], sys.argv[2]
passed = failed = 0


def check(name, ok, why=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"{name}: passed")
    else:
        failed += 1
        print(f"{name}: FAILED {why}")


with open(manifest) as f:
    documents = [d for d in yaml.safe_load_all(f) if d]
check("the manifest parses as YAML documents", len(documents) == 2, f"({len(documents)} documents)")
deployment = next(d for d in documents if d.get("kind") == "Deployment")
pod = deployment["spec"]["template"]["spec"]
container = pod["containers"][0]
args = container["args"]
ports = {p["name"]: p["containerPort"] for p in container["ports"]}
options = dict(zip(args[3::2], args[4::2]))

help_text = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
known = set(re.findall(r"^\s+(--[a-z-]+)", help_text, re.M))
check("every option is one the binary knows", set(options) <= known, f"(unknown: {set(options) - known})")
check("the proxy port is the third argument", ports.get("proxy") == int(args[2]), f"({ports.get('proxy')} vs {args[2]})")
metrics_port = int(options.get("--metrics", ":0").rsplit(":", 1)[1])
check("the metrics port is what --metrics names", ports.get("metrics") == metrics_port)
for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/livez")):
    get = container[probe]["httpGet"]
    check(f"{probe} asks {path} on the metrics port", get["path"] == path and get["port"] == "metrics", f"({get})")
pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
wait = int(pre_stop[-1]) if pre_stop[0] == "sleep" else 0
drain = int(options.get("--drain-timeout", "30"))
grace = pod["terminationGracePeriodSeconds"]
check("terminationGracePeriodSeconds is above preStop + --drain-timeout", grace > wait + drain, f"({grace} vs {wait} + {drain})")

print(f"dist-examples: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
