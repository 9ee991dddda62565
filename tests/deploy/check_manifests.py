#!/usr/bin/python3
"""Renders and checks kouryu's Kubernetes manifests (deploy/kubernetes/).

Every overlay, alone and with every component, is rendered with
`kubectl kustomize`; every rendered document must validate strictly against
the JSON schemas in <repo>/../shared/k8s-schemas (a kind without a schema is
an error); then the checks no schema can make (check_* below). With
--fixtures FILE, each bad fixture there (a change to a rendered overlay)
must be rejected by the check it names.

Usage: check_manifests.py --repo DIR --ingest BIN --query BIN --cli BIN
           [--schemas DIR] [--fixtures FILE]
"""

import argparse
import copy
import difflib
import filecmp
import json
import os
import re
import subprocess
import sys
import tempfile

import jsonschema
import yaml

OVERLAYS = ["overlays/dev", "overlays/prod"]
COMPONENTS = ["components/network-policies", "components/metrics", "components/tls"]
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job", "CronJob")
BINARY_OF_IMAGE = {"kouryu-ingest": "ingest", "kouryu-query": "query"}


class Failure(Exception):
    pass


# --- Rendering ------------------------------------------------------------


def render(kubernetes_dir, overlay, components=()):
    """The documents `kubectl kustomize` renders for overlay + components."""
    with tempfile.TemporaryDirectory(prefix="kouryu-kustomize-") as tmp:
        rel = os.path.relpath(kubernetes_dir, tmp)
        lines = [
            "apiVersion: kustomize.config.k8s.io/v1beta1",
            "kind: Kustomization",
            f"resources: [{rel}/{overlay}]",
        ]
        if components:
            lines.append("components: [" + ", ".join(f"{rel}/{c}" for c in components) + "]")
        with open(os.path.join(tmp, "kustomization.yaml"), "w") as f:
            f.write("\n".join(lines) + "\n")
        result = subprocess.run(["kubectl", "kustomize", tmp], capture_output=True, text=True)
    if result.returncode != 0:
        raise Failure(f"kubectl kustomize {overlay} {' '.join(components)}: {result.stderr.strip()}")
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def targets():
    for overlay in OVERLAYS:
        yield overlay, ()
        for component in COMPONENTS:
            yield overlay, (component,)
        yield overlay, tuple(COMPONENTS)


# --- Schemas --------------------------------------------------------------


def schema_file(document):
    api_version = document.get("apiVersion", "")
    kind = document.get("kind", "")
    if "/" in api_version:
        group, version = api_version.split("/", 1)
        return f"{kind.lower()}-{group.split('.')[0]}-{version}.json"
    return f"{kind.lower()}-{api_version}.json"


def check_schemas(docs, schemas_dir):
    errors = []
    cache = {}
    for doc in docs:
        where = describe(doc)
        name = schema_file(doc)
        path = os.path.join(schemas_dir, name)
        if name not in cache:
            if not os.path.exists(path):
                cache[name] = None
            else:
                with open(path) as f:
                    cache[name] = jsonschema.Draft7Validator(json.load(f))
        validator = cache[name]
        if validator is None:
            errors.append(f"{where}: no schema {name} in {schemas_dir} (a kind without a schema is not allowed)")
            continue
        for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.path)):
            field = "/".join(str(p) for p in error.path) or "(document)"
            errors.append(f"{where}: {field}: {error.message}")
    return errors


# --- Helpers --------------------------------------------------------------


def describe(doc):
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def pod_spec(doc):
    kind = doc.get("kind")
    if kind == "Pod":
        return doc.get("spec", {})
    if kind == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"].get("spec", {})
    if kind in WORKLOAD_KINDS:
        return doc["spec"]["template"].get("spec", {})
    return None


def template_labels(doc):
    if doc.get("kind") == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"].get("metadata", {}).get("labels", {})
    return doc["spec"]["template"].get("metadata", {}).get("labels", {})


def all_containers(spec):
    return list(spec.get("initContainers", [])) + list(spec.get("containers", []))


def selects(match_labels, labels):
    return bool(match_labels) and all(labels.get(k) == v for k, v in match_labels.items())


def workloads(docs):
    return [d for d in docs if d.get("kind") in WORKLOAD_KINDS]


def image_base(image):
    return image.rsplit("/", 1)[-1].split("@")[0].split(":")[0]


# --- Checks no schema can make --------------------------------------------


def check_selectors(docs):
    """Workload selectors match their template's labels."""
    errors = []
    for doc in docs:
        if doc.get("kind") not in ("Deployment", "StatefulSet"):
            continue
        selector = doc["spec"].get("selector", {})
        if selector.get("matchExpressions"):
            errors.append(f"{describe(doc)}: selector uses matchExpressions; use matchLabels")
        if not selects(selector.get("matchLabels", {}), template_labels(doc)):
            errors.append(f"{describe(doc)}: selector {selector.get('matchLabels')} does not match the template labels {template_labels(doc)}")
    return errors


def named_ports(container):
    ports = {}
    for p in container.get("ports", []):
        ports[p["containerPort"]] = p
        if "name" in p:
            ports[p["name"]] = p
    return ports


def check_probes(docs):
    """Every probe's port is a container port of its own container."""
    errors = []
    for doc in docs:
        spec = pod_spec(doc)
        if spec is None:
            continue
        for c in all_containers(spec):
            ports = named_ports(c)
            for probe_name in ("startupProbe", "readinessProbe", "livenessProbe"):
                probe = c.get(probe_name)
                if not probe:
                    continue
                for handler in ("grpc", "httpGet", "tcpSocket"):
                    if handler in probe:
                        port = probe[handler].get("port")
                        if port not in ports:
                            errors.append(f"{describe(doc)}: container {c['name']} {probe_name} port {port!r} is not one of its container ports {sorted(map(str, ports))}")
    return errors


def check_services(docs):
    """Services select pods of a workload, and target ports those pods have."""
    errors = []
    for svc in (d for d in docs if d.get("kind") == "Service"):
        selector = svc["spec"].get("selector", {})
        matched = [w for w in workloads(docs) if selects(selector, template_labels(w))]
        if not matched:
            errors.append(f"{describe(svc)}: selector {selector} matches no workload's pods")
            continue
        for port in svc["spec"].get("ports", []):
            target = port.get("targetPort", port["port"])
            for w in matched:
                if not any(target in named_ports(c) for c in pod_spec(w).get("containers", [])):
                    errors.append(f"{describe(svc)}: targetPort {target!r} is no container port of {describe(w)}")
    return errors


def check_references(docs):
    """HPA and PDB target existing workloads; StatefulSets name a headless Service."""
    errors = []
    by_kind_name = {(d.get("kind"), d["metadata"]["name"]) for d in docs}
    for doc in docs:
        kind = doc.get("kind")
        if kind == "HorizontalPodAutoscaler":
            ref = doc["spec"]["scaleTargetRef"]
            if (ref.get("kind"), ref.get("name")) not in by_kind_name:
                errors.append(f"{describe(doc)}: scaleTargetRef {ref.get('kind')}/{ref.get('name')} does not exist")
        elif kind == "PodDisruptionBudget":
            match = doc["spec"].get("selector", {}).get("matchLabels", {})
            if not any(selects(match, template_labels(w)) for w in workloads(docs)):
                errors.append(f"{describe(doc)}: selector {match} matches no workload's pods")
        elif kind == "StatefulSet":
            name = doc["spec"].get("serviceName")
            svc = next((d for d in docs if d.get("kind") == "Service" and d["metadata"]["name"] == name), None)
            if svc is None or svc["spec"].get("clusterIP") != "None":
                errors.append(f"{describe(doc)}: serviceName {name!r} is not a headless Service")
        spec = pod_spec(doc)
        if spec and spec.get("serviceAccountName"):
            if ("ServiceAccount", spec["serviceAccountName"]) not in by_kind_name:
                errors.append(f"{describe(doc)}: serviceAccountName {spec['serviceAccountName']} does not exist")
        if spec:
            for v in spec.get("volumes", []):
                cm = v.get("configMap", {}).get("name")
                if cm and ("ConfigMap", cm) not in by_kind_name:
                    errors.append(f"{describe(doc)}: volume {v['name']} names ConfigMap {cm}, which does not exist")
    return errors


def check_restricted(docs):
    """Pod Security "restricted", and the project's own hardening, everywhere."""
    errors = []
    for doc in docs:
        if doc.get("kind") == "Namespace":
            if doc["metadata"].get("labels", {}).get("pod-security.kubernetes.io/enforce") != "restricted":
                errors.append(f"{describe(doc)}: not labelled pod-security.kubernetes.io/enforce: restricted")
        spec = pod_spec(doc)
        if spec is None:
            continue
        where = describe(doc)
        pod_sc = spec.get("securityContext", {})
        for field in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(field):
                errors.append(f"{where}: {field} is set")
        if spec.get("automountServiceAccountToken") is not False:
            errors.append(f"{where}: automountServiceAccountToken is not false")
        for v in spec.get("volumes", []):
            if "hostPath" in v:
                errors.append(f"{where}: volume {v['name']} is a hostPath")
        for c in all_containers(spec):
            sc = c.get("securityContext", {})
            cw = f"{where}: container {c['name']}"

            def effective(field):
                return sc.get(field, pod_sc.get(field))

            if effective("runAsNonRoot") is not True:
                errors.append(f"{cw}: runAsNonRoot is not true")
            if effective("runAsUser") in (None, 0):
                errors.append(f"{cw}: runAsUser is not a non-zero number")
            seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
            if seccomp not in ("RuntimeDefault", "Localhost"):
                errors.append(f"{cw}: seccompProfile is not RuntimeDefault")
            if sc.get("allowPrivilegeEscalation") is not False:
                errors.append(f"{cw}: allowPrivilegeEscalation is not false")
            if sc.get("privileged"):
                errors.append(f"{cw}: privileged")
            caps = sc.get("capabilities", {})
            if "ALL" not in caps.get("drop", []):
                errors.append(f"{cw}: capabilities do not drop ALL")
            if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
                errors.append(f"{cw}: adds capabilities {caps['add']}")
            if sc.get("readOnlyRootFilesystem") is not True:
                errors.append(f"{cw}: readOnlyRootFilesystem is not true")
            if "memory" not in c.get("resources", {}).get("limits", {}):
                errors.append(f"{cw}: no memory limit")
            for port in c.get("ports", []):
                if "hostPort" in port:
                    errors.append(f"{cw}: hostPort {port['hostPort']}")
    return errors


def check_volumes(docs):
    """Containers mount only volumes the pod has; emptyDirs have a sizeLimit."""
    errors = []
    for doc in docs:
        spec = pod_spec(doc)
        if spec is None:
            continue
        names = {v["name"] for v in spec.get("volumes", [])}
        if doc.get("kind") == "StatefulSet":
            names |= {t["metadata"]["name"] for t in doc["spec"].get("volumeClaimTemplates", [])}
        for v in spec.get("volumes", []):
            if "emptyDir" in v and "sizeLimit" not in (v["emptyDir"] or {}):
                errors.append(f"{describe(doc)}: emptyDir {v['name']} has no sizeLimit")
        for c in all_containers(spec):
            for m in c.get("volumeMounts", []):
                if m["name"] not in names:
                    errors.append(f"{describe(doc)}: container {c['name']} mounts {m['name']}, which is no volume of the pod")
    return errors


def check_ingest_single_writer(docs):
    """One ingest process per volume, ever."""
    errors = []
    for doc in docs:
        if doc.get("kind") not in ("Deployment", "StatefulSet"):
            continue
        images = [image_base(c["image"]) for c in pod_spec(doc).get("containers", [])]
        if "kouryu-ingest" not in images:
            continue
        if doc["kind"] != "StatefulSet":
            errors.append(f"{describe(doc)}: kouryu-ingest must run as a StatefulSet (a Deployment's rolling update opens the volume twice)")
            continue
        if doc["spec"].get("replicas", 1) != 1:
            errors.append(f"{describe(doc)}: kouryu-ingest replicas is {doc['spec'].get('replicas')}, must be 1 (single writer)")
        if doc["spec"].get("podManagementPolicy") == "Parallel":
            errors.append(f"{describe(doc)}: podManagementPolicy Parallel")
        retention = doc["spec"].get("persistentVolumeClaimRetentionPolicy", {})
        if retention.get("whenDeleted") != "Retain" or retention.get("whenScaled") != "Retain":
            errors.append(f"{describe(doc)}: persistentVolumeClaimRetentionPolicy must Retain")
    return errors


def check_args(docs, flags_of):
    """Every --flag a container passes is a flag its binary accepts."""
    errors = []
    for doc in docs:
        spec = pod_spec(doc)
        if spec is None:
            continue
        for c in all_containers(spec):
            command = c.get("command") or []
            if command:
                binary = os.path.basename(command[0]).replace("kouryu-", "")
            else:
                binary = BINARY_OF_IMAGE.get(image_base(c.get("image", "")))
            if binary not in flags_of:
                continue
            for arg in list(command[1:]) + list(c.get("args", [])):
                m = re.match(r"^--?([A-Za-z0-9_]+)(=|$)", arg)
                if not m:
                    continue
                flag = m.group(1)
                if flag.startswith("no") and flag[2:] in flags_of[binary]:
                    continue
                if flag not in flags_of[binary]:
                    errors.append(f"{describe(doc)}: container {c['name']} passes --{flag}, which kouryu-{binary} does not accept")
    return errors


def binary_flags(binary):
    out = subprocess.run([binary, "--helpfull"], capture_output=True, text=True)
    flags = set(re.findall(r"^\s+--([A-Za-z0-9_]+)", out.stdout + out.stderr, re.M))
    if not flags:
        raise Failure(f"{binary} --helpfull lists no flags")
    return flags


def label_selects(selector, labels):
    """A LabelSelector (matchLabels and matchExpressions In/Exists) selects labels."""
    if not all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for e in selector.get("matchExpressions", []):
        op, key = e["operator"], e["key"]
        if op == "In" and labels.get(key) not in e.get("values", []):
            return False
        if op == "NotIn" and labels.get(key) in e.get("values", []):
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def check_metrics(docs):
    """Pods annotated for scraping serve /metrics where the annotation says.

    prometheus.io/port is a container port of a container that passes
    --metrics_listen with that port; with network policies present, one
    that selects the pod admits ingress on that port.
    """
    errors = []
    policies = [d for d in docs if d.get("kind") == "NetworkPolicy"]
    for doc in workloads(docs):
        template = doc["spec"].get("template", {})
        annotations = template.get("metadata", {}).get("annotations", {}) or {}
        if annotations.get("prometheus.io/scrape") != "true":
            continue
        port = annotations.get("prometheus.io/port", "")
        if not port.isdigit():
            errors.append(f"{describe(doc)}: prometheus.io/port {port!r} is not a port number")
            continue
        port = int(port)
        serving = [c for c in all_containers(pod_spec(doc))
                   if port in named_ports(c)
                   and any(re.match(rf"^--metrics_listen=.*:{port}$", a) for a in c.get("args", []))]
        if not serving:
            errors.append(f"{describe(doc)}: no container has containerPort {port} and --metrics_listen=HOST:{port}")
        if not policies:
            continue
        labels = template_labels(doc)
        admitted = False
        for policy in policies:
            spec = policy["spec"]
            if "Ingress" not in spec.get("policyTypes", ["Ingress"]):
                continue
            if not label_selects(spec.get("podSelector", {}), labels):
                continue
            for rule in spec.get("ingress", []):
                ports = rule.get("ports")
                if ports is None or any(p.get("port") in (port, "metrics") for p in ports):
                    admitted = True
        if not admitted:
            errors.append(f"{describe(doc)}: no NetworkPolicy admits the scraper on port {port}")
    return errors


SEMANTIC_CHECKS = {
    "metrics": check_metrics,
    "selectors": check_selectors,
    "probes": check_probes,
    "services": check_services,
    "references": check_references,
    "restricted": check_restricted,
    "volumes": check_volumes,
    "single_writer": check_ingest_single_writer,
}


def check_all(docs, schemas_dir, flags_of):
    """{check name: [errors]} for every check."""
    results = {"schema": check_schemas(docs, schemas_dir)}
    for name, check in SEMANTIC_CHECKS.items():
        results[name] = check(docs)
    results["args"] = check_args(docs, flags_of)
    return results


# --- Bad fixtures ---------------------------------------------------------


def apply_fixture(docs, fixture):
    """A copy of docs with the fixture's change: ops on one document, or
    documents added."""
    docs = copy.deepcopy(docs)
    for extra in fixture.get("add", []):
        docs.append(extra)
    if "kind" in fixture:
        target = next((d for d in docs if d.get("kind") == fixture["kind"] and
                       d["metadata"]["name"] == fixture["name"]), None)
        if target is None:
            raise Failure(f"fixture {fixture['id']}: no {fixture['kind']}/{fixture['name']} in {fixture['render']}")
        for op in fixture["ops"]:
            parts = [int(p) if p.isdigit() else p.replace("~1", "/")
                     for p in op["path"].strip("/").split("/")]
            parent = target
            for p in parts[:-1]:
                parent = parent[p]
            last = parts[-1]
            if op["op"] == "remove":
                del parent[last]
            else:
                parent[last] = op["value"]
    return docs


def run_fixtures(path, rendered, schemas_dir, flags_of):
    with open(path) as f:
        fixtures = yaml.safe_load(f)
    failures = []
    for fixture in fixtures:
        docs = apply_fixture(rendered[fixture["render"]], fixture)
        results = check_all(docs, schemas_dir, flags_of)
        caught = results[fixture["check"]]
        wanted = fixture.get("message", "")
        if not any(wanted in e for e in caught):
            failures.append(f"fixture {fixture['id']}: check {fixture['check']} did not reject it"
                            f" (wanted a message containing {wanted!r}; got {caught})")
        else:
            print(f"ok  fixture {fixture['id']}: {fixture['check']}: {next(e for e in caught if wanted in e)}")
    return failures


# --- Main -----------------------------------------------------------------


def find_schemas(repo, given):
    """--schemas, $KOURYU_K8S_SCHEMAS, or shared/k8s-schemas beside the
    repository (for a git worktree: beside the main checkout too)."""
    candidates = [given or os.environ.get("KOURYU_K8S_SCHEMAS")]
    if not candidates[0]:
        candidates = [os.path.join(repo, "..", "shared", "k8s-schemas")]
        common = subprocess.run(["git", "-C", repo, "rev-parse", "--path-format=absolute",
                                 "--git-common-dir"], capture_output=True, text=True)
        if common.returncode == 0:
            main_checkout = os.path.dirname(common.stdout.strip())
            candidates.append(os.path.join(main_checkout, "..", "shared", "k8s-schemas"))
    for path in map(os.path.normpath, candidates):
        if os.path.isdir(path) and any(n.endswith(".json") for n in os.listdir(path)):
            return path
    raise Failure(f"no Kubernetes JSON schemas at {' or '.join(map(os.path.normpath, candidates))}: "
                  f"the shared/k8s-schemas folder is expected beside the repository "
                  f"(<repo>/../shared/k8s-schemas); or set KOURYU_K8S_SCHEMAS or pass --schemas DIR")


def check_data_copies(repo):
    """base/data holds copies of data/ files (kustomize reads nothing outside)."""
    errors = []
    base_data = os.path.join(repo, "deploy/kubernetes/base/data")
    for name in sorted(os.listdir(base_data)):
        original = os.path.join(repo, "data", name)
        if not os.path.exists(original):
            errors.append(f"deploy/kubernetes/base/data/{name}: no data/{name} it copies")
        elif not filecmp.cmp(original, os.path.join(base_data, name), shallow=False):
            errors.append(f"deploy/kubernetes/base/data/{name} differs from data/{name}: "
                          f"cp data/{name} deploy/kubernetes/base/data/")
    return errors


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", required=True)
    parser.add_argument("--schemas")
    parser.add_argument("--ingest", required=True)
    parser.add_argument("--query", required=True)
    parser.add_argument("--cli", required=True)
    parser.add_argument("--fixtures")
    args = parser.parse_args()
    repo = os.path.abspath(args.repo)
    try:
        schemas_dir = find_schemas(repo, args.schemas)
        flags_of = {"ingest": binary_flags(args.ingest), "query": binary_flags(args.query),
                    "cli": binary_flags(args.cli)}
        kubernetes_dir = os.path.join(repo, "deploy/kubernetes")
        rendered = {}
        failures = check_data_copies(repo)
        for overlay, components in targets():
            key = "+".join((overlay,) + components)
            docs = render(kubernetes_dir, overlay, components)
            rendered[key] = docs
            kinds = {}
            for d in docs:
                kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
            print(f"{key}: {len(docs)} documents: " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))
            for check, errors in check_all(docs, schemas_dir, flags_of).items():
                failures += [f"{key}: {check}: {e}" for e in errors]
        if args.fixtures:
            failures += run_fixtures(args.fixtures, rendered, schemas_dir, flags_of)
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    for f in failures:
        print(f"FAIL: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
