#!/usr/bin/python3
"""Runs the dev overlay for real: kouryu's images under `podman kube play`.

Builds both images with scripts/image.sh --prebuilt (the release binaries,
tagged latest, as the manifests name them),
renders deploy/kubernetes/overlays/dev and converts what podman 4.3 cannot
play: the StatefulSet becomes a Pod and a PersistentVolumeClaim, the Job a
Pod, Service names become pod names on a network of the test's own, and
container ports are published on 127.0.0.1 only. podman ignores grpc,
readiness and startup probes, so the test calls each probe itself
(grpc.health.v1.Health/Check on the probe's port and service). Then:

  1. ingest and query SERVING; the import pod's 36 records answered by query;
  2. the ingest pod removed and played again on the same volume: data kept,
     the replica reconnects (a new write reaches it);
  3. the query pod replaced: the new one catches up from the change feed.

Everything the test creates (pods, containers, volumes, network) carries
the run's name and is removed at the end, on failure too; only the
project's images stay. Needs root.

Usage: kube_play_test.py --repo DIR --cli build/release/cli/kouryu-cli
"""

import argparse
import copy
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

import yaml

CALL_TIMEOUT = "30s"
START_DEADLINE_S = 90


class Failure(Exception):
    pass


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class Podman:
    def __init__(self, repo):
        self.env = dict(os.environ, CONTAINERS_CONF=os.path.join(repo, "deploy/images/containers.conf"))

    def run(self, *args, check=True, input=None):
        result = subprocess.run(["podman", *args], capture_output=True, text=True, env=self.env, input=input)
        if check and result.returncode != 0:
            raise Failure(f"podman {' '.join(args)}: {result.stderr.strip()}")
        return result


class Cli:
    """kouryu-cli on the host, calling the pods' published ports."""

    def __init__(self, path):
        self.path = path

    def call(self, port, method, request=None, timeout=CALL_TIMEOUT):
        args = [self.path, f"--timeout={timeout}"]
        if request is not None:
            args += ["-d", json.dumps(request)]
        args += [f"127.0.0.1:{port}", method]
        result = subprocess.run(args, capture_output=True, text=True)
        if result.returncode != 0:
            return None, (result.stdout + result.stderr).strip()
        return json.loads(result.stdout or "{}"), None

    def must(self, port, method, request=None):
        response, error = self.call(port, method, request)
        if error:
            raise Failure(f"{method} on 127.0.0.1:{port}: {error}")
        return response

    def health(self, port, service):
        """Health/Check of `service`: "SERVING", "NOT_SERVING", or an error."""
        response, error = self.call(port, "grpc.health.v1.Health/Check", {"service": service}, timeout="2s")
        if error:
            return f"error: {error.splitlines()[0] if error else '?'}"
        return response.get("status", "UNKNOWN")

    def wait_serving(self, port, service, what):
        """Calls the probe until it answers SERVING. The server cannot be
        watched before it listens, so this polls, briefly, up to a deadline."""
        deadline = time.monotonic() + START_DEADLINE_S
        last = None
        while time.monotonic() < deadline:
            last = self.health(port, service)
            if last == "SERVING":
                log(f"  {what}: Health/Check(port {port}, service {service!r}) = SERVING")
                return
            time.sleep(0.25)
        raise Failure(f"{what}: Health/Check(port {port}, service {service!r}) not SERVING "
                      f"after {START_DEADLINE_S} s; last: {last}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def render_dev(repo):
    result = subprocess.run(["kubectl", "kustomize", os.path.join(repo, "deploy/kubernetes/overlays/dev")],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise Failure(f"kubectl kustomize overlays/dev: {result.stderr.strip()}")
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def find(docs, kind, name=None):
    for d in docs:
        if d["kind"] == kind and (name is None or d["metadata"]["name"] == name):
            return d
    raise Failure(f"overlays/dev renders no {kind} {name or ''}")


def replace_service_names(args, names):
    """kouryu-ingest:50051 (a Service) -> the ingest pod's name."""
    out = []
    for a in args:
        for service, pod in names.items():
            a = a.replace(f"{service}:", f"{pod}:")
        out.append(a)
    return out


def publish(container, ports):
    """containerPort -> hostPort on 127.0.0.1, as `ports` says."""
    for p in container.get("ports", []):
        p["hostIP"] = "127.0.0.1"
        p["hostPort"] = ports[p["containerPort"]]


def probes(container):
    """(port, service) of each grpc probe of the container, startup first."""
    found = []
    for name in ("startupProbe", "readinessProbe", "livenessProbe"):
        grpc = container.get(name, {}).get("grpc")
        if grpc:
            found.append((name, grpc["port"], grpc.get("service", "")))
    return found


def pod_of(name, template, labels=None):
    """A Pod with a workload's pod template (its probes kept: podman ignores
    them, and the test calls them itself, see probes())."""
    spec = copy.deepcopy(template["spec"])
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": dict(template["metadata"].get("labels", {}), **(labels or {}))},
            "spec": spec}


class Run:
    def __init__(self, repo, cli, podman):
        self.repo, self.cli, self.podman = repo, cli, podman
        self.id = f"kouryu-kp{os.getpid()}"
        self.tmp = tempfile.mkdtemp(prefix=f"{self.id}-")
        self.files = {}
        self.network = self.id
        self.volumes = set()

    # --- Conversion --------------------------------------------------------

    def convert(self, docs):
        ingest_set = find(docs, "StatefulSet", "kouryu-ingest")
        query_deploy = find(docs, "Deployment", "kouryu-query")
        job = find(docs, "Job", "kouryu-import")
        configmaps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}

        self.ingest_pod = f"{self.id}-ingest"
        self.query_name = f"{self.id}-query"
        self.import_pod = f"{self.id}-import"
        names = {"kouryu-ingest": self.ingest_pod}
        self.ingest_port, self.query_port = free_port(), free_port()

        # StatefulSet -> Pod + PVC named after the run.
        claim = copy.deepcopy(ingest_set["spec"]["volumeClaimTemplates"][0])
        claim_name = f"{self.id}-{claim['metadata']['name']}"
        self.volumes.add(claim_name)
        pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "metadata": {"name": claim_name, "labels": claim["metadata"].get("labels", {})},
               "spec": claim["spec"]}
        ingest = pod_of(self.ingest_pod, ingest_set["spec"]["template"])
        ingest["spec"]["volumes"].append(
            {"name": claim["metadata"]["name"], "persistentVolumeClaim": {"claimName": claim_name}})
        container = ingest["spec"]["containers"][0]
        self.ingest_probes = probes(container)
        publish(container, {50051: self.ingest_port})

        # Deployment stays a Deployment (podman plays it as pods).
        query = copy.deepcopy(query_deploy)
        query["metadata"]["name"] = self.query_name
        container = query["spec"]["template"]["spec"]["containers"][0]
        container["args"] = replace_service_names(container["args"], names)
        self.query_probes = probes(container)
        publish(container, {50052: self.query_port})

        # Job -> Pod that runs once.
        importer = pod_of(self.import_pod, job["spec"]["template"])
        importer["spec"]["restartPolicy"] = "Never"
        container = importer["spec"]["containers"][0]
        container["args"] = replace_service_names(container["args"], names)

        def used_configmaps(pod_spec, pod):
            """The pod's ConfigMaps, renamed after the run and the pod
            (podman makes each a volume of that name)."""
            used = []
            for v in pod_spec["volumes"]:
                if "configMap" in v:
                    cm = copy.deepcopy(configmaps[v["configMap"]["name"]])
                    cm["metadata"]["name"] = v["configMap"]["name"] = f"{self.id}-{pod}-{cm['metadata']['name']}"
                    self.volumes.add(cm["metadata"]["name"])
                    used.append(cm)
            return used

        # The claim apart: playing the pod again must find the volume, not
        # create it.
        self.write("volume", [pvc])
        self.write("ingest", [ingest] + used_configmaps(ingest["spec"], "ingest"))
        self.write("query", [query] + used_configmaps(query["spec"]["template"]["spec"], "query"))
        self.write("import", [importer] + used_configmaps(importer["spec"], "import"))

    def write(self, name, docs):
        path = os.path.join(self.tmp, f"{name}.yaml")
        with open(path, "w") as f:
            yaml.safe_dump_all(docs, f, sort_keys=False)
        self.files[name] = path

    # --- Playing -----------------------------------------------------------

    def play(self, name):
        log(f"podman kube play {name}.yaml")
        self.podman.run("kube", "play", "--network", self.network, self.files[name])

    def down(self, name):
        log(f"podman kube down {name}.yaml")
        self.podman.run("kube", "down", self.files[name])

    def logs(self, container):
        return self.podman.run("logs", container, check=False).stderr

    def query_pod(self):
        out = self.podman.run("pod", "ps", "--format", "{{.Name}}", "--filter", f"name={self.query_name}").stdout
        pods = out.split()
        if len(pods) != 1:
            raise Failure(f"expected one query pod, found {pods}")
        return pods[0]

    def check_probes(self, port, probe_list, what):
        for probe, probe_port, service in probe_list:
            if probe_port not in (50051, 50052):
                raise Failure(f"{what} {probe} port {probe_port} is not the published one")
            self.cli.wait_serving(port, service, f"{what} {probe}")

    def records(self, min_sequence):
        response = self.cli.must(self.query_port, "kouryu.v1.QueryService/ListRecords",
                                 {"parent": "cities/-", "pageSize": 1000, "view": "RECORD_VIEW_BASIC",
                                  "minSequence": str(min_sequence)})
        return int(response.get("totalSize", 0)), len(response.get("records", []))

    def scenario(self):
        self.podman.run("network", "create", self.network)
        self.play("volume")
        self.play("ingest")
        self.check_probes(self.ingest_port, self.ingest_probes, "ingest")
        self.play("query")
        self.check_probes(self.query_port, self.query_probes, "query")

        # The import Job, as a pod.
        self.play("import")
        container = f"{self.import_pod}-import"
        code = self.podman.run("wait", container).stdout.strip()
        out = self.podman.run("logs", container).stdout
        log(f"  import exited {code}: {' '.join(out.split())[:300]}")
        if code != "0":
            raise Failure(f"import failed ({code}): {out} {self.logs(container)}")
        m = re.search(r"(\d+) created, (\d+) updated, (\d+) unchanged, (\d+) rejected; sequence (\d+)", out)
        if not m:
            raise Failure(f"import printed no counts: {out}")
        created, updated, unchanged, rejected, sequence = map(int, m.groups())
        if created + unchanged != 36 or rejected:
            raise Failure(f"import wrote {created} records, not 36: {out}")
        total, _ = self.records(sequence)
        log(f"  query at sequence {sequence}: {total} records")
        if total != 36:
            raise Failure(f"query answers {total} records, not 36")

        # Ingest lost and played again on the same volume.
        self.down("ingest")
        total, _ = self.records(sequence)
        log(f"  ingest down: query still answers {total} records")
        self.play("ingest")
        self.check_probes(self.ingest_port, self.ingest_probes, "ingest (again)")
        digest = self.cli.must(self.ingest_port, "kouryu.v1.ChangeFeed/GetDigest", {})
        log(f"  ingest digest after restart: {json.dumps(digest)}")
        if int(digest.get("recordCount", 0)) != 36:
            raise Failure(f"ingest lost data across the restart: {digest}")
        write = self.cli.must(self.ingest_port, "kouryu.v1.IngestService/UpsertRecord", {"record": {
            "category": "②姉妹港交流", "department": "港湾局港湾経営部",
            "title": "大韓民国ソウル特別市との港湾交流", "fiscalYear": 2020}})
        sequence = int(write["sequence"])
        total, _ = self.records(sequence)
        log(f"  new write at sequence {sequence}; the replica reconnected and answers {total} records")
        if total != 37:
            raise Failure(f"query answers {total} records after the new write, not 37")

        # Query replaced: the new pod catches up from the change feed.
        old = self.query_pod()
        self.down("query")
        self.play("query")
        new = self.query_pod()
        self.check_probes(self.query_port, self.query_probes, "query (replaced)")
        started_at = []
        for line in self.logs(f"{new}-query").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("msg") == "startup":
                started_at.append(event.get("applied"))
        if started_at != [0]:
            raise Failure(f"the new query pod did not start from an empty replica: "
                          f"applied at startup {started_at}")
        total, _ = self.records(sequence)
        status = self.cli.must(self.query_port, "kouryu.v1.QueryService/GetReplicaStatus", {})
        log(f"  query pod {old} replaced by {new}: {total} records; status {json.dumps(status)}")
        if total != 37:
            raise Failure(f"the new query pod answers {total} records, not 37")

    # --- Cleanup -----------------------------------------------------------

    def cleanup(self):
        for name in ("import", "query", "ingest", "volume"):
            if name in self.files:
                self.podman.run("kube", "down", self.files[name], check=False)
        pods = self.podman.run("pod", "ps", "-q", "--filter", f"name={self.id}", check=False).stdout.split()
        if pods:
            self.podman.run("pod", "rm", "-f", "-t", "5", *pods, check=False)
        containers = self.podman.run("ps", "-aq", "--filter", f"name={self.id}", check=False).stdout.split()
        if containers:
            self.podman.run("rm", "-f", "-v", *containers, check=False)
        for volume in self.volumes:
            self.podman.run("volume", "rm", "-f", volume, check=False)
        self.podman.run("network", "rm", "-f", self.network, check=False)
        subprocess.run(["rm", "-rf", self.tmp])
        left = (self.podman.run("ps", "-aq", "--filter", f"name={self.id}", check=False).stdout.split() +
                self.podman.run("pod", "ps", "-q", "--filter", f"name={self.id}", check=False).stdout.split() +
                self.podman.run("volume", "ls", "-q", "--filter", f"name={self.id}", check=False).stdout.split())
        if left:
            raise Failure(f"left behind after cleanup: {left}")
        log(f"cleaned up: no pod, container, volume or network named {self.id}* left")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", required=True)
    parser.add_argument("--cli", required=True)
    args = parser.parse_args()
    repo = os.path.abspath(args.repo)
    if os.geteuid() != 0:
        print("kube_play_test: needs root (rootful podman)", file=sys.stderr)
        return 1
    podman = Podman(repo)
    started = time.monotonic()
    build = subprocess.run([os.path.join(repo, "scripts/image.sh"), "--prebuilt", "--tag", "latest"], capture_output=True, text=True)
    if build.returncode != 0:
        print(build.stdout + build.stderr[-4000:], file=sys.stderr)
        return 1
    log("scripts/image.sh --prebuilt:\n" + build.stdout.strip())
    run = Run(repo, Cli(args.cli), podman)
    failure = None
    try:
        run.convert(render_dev(repo))
        run.scenario()
    except Failure as e:
        failure = e
        for container in podman.run("ps", "-a", "--format", "{{.Names}}", "--filter",
                                    f"name={run.id}", check=False).stdout.split():
            out = podman.run("logs", "--tail", "30", container, check=False)
            print(f"--- logs of {container}:\n{out.stdout}{out.stderr}", file=sys.stderr)
    finally:
        try:
            run.cleanup()
        except Failure as e:
            failure = failure or e
    if failure:
        print(f"FAIL: {failure}", file=sys.stderr)
        return 1
    log(f"PASS in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
