"""deploy/kubernetes/: every manifest valid against the Kubernetes schemas, every kustomization
complete, and the numbers that must agree with ttsd agreeing with it.

The schemas are the ones `kubernetes-validate` ships (no network): the oldest Kubernetes
release we claim (1.29, the oldest still supported by the big managed offerings in 2025)
and the newest the package knows, both strict (an unknown field, i.e. a typo, is an error).
`kubectl kustomize` renders the kustomizations where kubectl is installed.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from ttsd.server.settings import Settings
from ttsd.server.settings_loader import SETTING_NAMES, env_name

REPO = Path(__file__).resolve().parents[2]
KUBERNETES = REPO / "deploy" / "kubernetes"
BASE = KUBERNETES / "base"
OVERLAYS = KUBERNETES / "overlays"
#: The Kubernetes releases the manifests are checked against.
VERSIONS = ("1.29.0", kubernetes_validate.latest_version() + ".0")
#: Seconds of slack after preStop + drain for the process to exit and the kubelet to see it.
EXIT_MARGIN_S = 5


def documents(path: Path) -> list[dict[str, Any]]:
    """The YAML documents of `path` (empty ones left out)."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def is_manifest(doc: dict[str, Any]) -> bool:
    """A Kubernetes object (kustomize's own files and Helm values are not)."""
    return "apiVersion" in doc and "kind" in doc and not doc["apiVersion"].startswith("kustomize")


MANIFEST_FILES = sorted(
    path for path in KUBERNETES.rglob("*.yaml") if any(map(is_manifest, documents(path)))
)
KUSTOMIZATIONS = sorted(KUBERNETES.rglob("kustomization.yaml"))


def the(kind: str, folder: Path = BASE) -> dict[str, Any]:
    """The one object of `kind` among the manifests directly in `folder`."""
    found = [
        doc
        for path in MANIFEST_FILES
        if path.parent == folder
        for doc in documents(path)
        if doc.get("kind") == kind
    ]
    assert len(found) == 1, f"{len(found)} {kind} objects in {folder}"
    return found[0]


def container() -> dict[str, Any]:
    """The ttsd container of the Deployment."""
    containers = the("Deployment")["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["ttsd"]
    return dict(containers[0])


def settings_env() -> dict[str, str]:
    """The TTSD_* variables the ConfigMap gives the pods."""
    return dict(the("ConfigMap")["data"])


def cpus(quantity: str) -> float:
    """A Kubernetes CPU quantity in CPUs: "2" → 2, "1500m" → 1.5."""
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def test_the_folder_has_the_manifests_it_promises() -> None:
    kinds = {doc["kind"] for path in MANIFEST_FILES for doc in documents(path)}
    assert {
        "ConfigMap",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Ingress",
    } <= kinds
    assert (KUBERNETES / "README.md").is_file()


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", MANIFEST_FILES, ids=lambda p: str(p.relative_to(KUBERNETES)))
def test_manifest_is_valid_against_the_kubernetes_schema(path: Path, version: str) -> None:
    for doc in documents(path):
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_validation_rejects_a_misspelt_field() -> None:
    # The check above can fail: a typo in a probe's name is an error, not ignored.
    deployment = copy.deepcopy(the("Deployment"))
    spec = deployment["spec"]["template"]["spec"]["containers"][0]
    spec["readinesProbe"] = spec.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(deployment, VERSIONS[0], strict=True)


@pytest.mark.parametrize("path", KUSTOMIZATIONS, ids=lambda p: str(p.relative_to(KUBERNETES)))
def test_kustomization_lists_existing_files_and_every_manifest_beside_it(path: Path) -> None:
    kustomization = documents(path)[0]
    listed = [*kustomization.get("resources", [])]
    listed += [patch["path"] for patch in kustomization.get("patches", []) if "path" in patch]
    for entry in listed:
        assert (path.parent / entry).exists(), f"{path}: {entry} does not exist"
    names = {Path(entry).name for entry in listed}
    unlisted = [p.name for p in MANIFEST_FILES if p.parent == path.parent and p.name not in names]
    assert not unlisted, f"{path} leaves out {unlisted}"


def kustomize_command() -> list[str]:
    """How to run kustomize here, or skip."""
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    pytest.skip("neither kustomize nor kubectl is installed (the file checks above still ran)")


def rendered(folder: Path) -> list[dict[str, Any]]:
    """What `kustomize build folder` makes."""
    done = subprocess.run(
        [*kustomize_command(), str(folder)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.mark.parametrize(
    "path", KUSTOMIZATIONS, ids=lambda p: str(p.parent.relative_to(KUBERNETES)) or "."
)
def test_kustomization_renders_valid_objects(path: Path) -> None:
    objects = rendered(path.parent)
    assert objects
    for doc in objects:
        kubernetes_validate.validate(doc, VERSIONS[0], strict=True)
    images = [
        c["image"]
        for doc in objects
        if doc["kind"] == "Deployment"
        for c in doc["spec"]["template"]["spec"]["containers"]
    ]
    assert images == ["ttsd:0.1.0"]  # the kustomization's `images` reached the Deployment


def test_load_ratio_overlay_replaces_the_cpu_metric() -> None:
    hpas = [
        doc
        for doc in rendered(OVERLAYS / "hpa-load-ratio")
        if doc["kind"] == "HorizontalPodAutoscaler"
    ]
    assert len(hpas) == 1
    metrics = hpas[0]["spec"]["metrics"]
    assert [m["type"] for m in metrics] == ["Pods"], metrics
    assert metrics[0]["pods"]["metric"]["name"] == "ttsd_load_ratio"
    assert hpas[0]["spec"]["behavior"] == the("HorizontalPodAutoscaler")["spec"]["behavior"]


def test_probes_point_at_healthz_and_readyz_on_the_served_port() -> None:
    spec = container()
    assert [p["containerPort"] for p in spec["ports"] if p["name"] == "http"] == [8420]
    assert spec["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert spec["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert spec["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    # The image serves on 8420 unless TTSD_PORT says otherwise.
    assert settings_env().get("TTSD_PORT", "8420") == "8420"


def test_grace_period_covers_prestop_sleep_and_the_drain() -> None:
    pod = the("Deployment")["spec"]["template"]["spec"]
    command = container()["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep", command
    pre_stop_s = float(command[1])
    drain_s = float(settings_env().get("TTSD_DRAIN_TIMEOUT_S", Settings().drain_timeout_s))
    assert pod["terminationGracePeriodSeconds"] >= pre_stop_s + drain_s + EXIT_MARGIN_S


def test_cpu_requests_and_limits_match_the_engine_threads() -> None:
    resources = container()["resources"]
    threads = int(settings_env()["TTSD_ENGINE_THREADS"])
    assert cpus(resources["limits"]["cpu"]) == threads
    assert cpus(resources["requests"]["cpu"]) == threads
    # Guaranteed QoS: requests equal limits for memory too.
    assert resources["requests"]["memory"] == resources["limits"]["memory"]


def test_configmap_holds_only_ttsd_settings() -> None:
    known = {env_name(name) for name in SETTING_NAMES}
    unknown = sorted(set(settings_env()) - known)
    assert not unknown, f"not ttsd settings: {unknown}"


def test_api_keys_come_from_a_secret_not_the_configmap() -> None:
    assert "TTSD_API_KEYS" not in settings_env()
    env = {e["name"]: e for e in container()["env"]}
    assert "secretKeyRef" in env["TTSD_API_KEYS"]["valueFrom"]


def test_pods_run_as_the_images_user_without_privileges() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    users = re.findall(r"^USER (\d+):(\d+)$", dockerfile, flags=re.MULTILINE)
    assert users, "the Dockerfile has no numeric USER"
    uid, gid = map(int, users[-1])
    pod = the("Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (uid, gid)
    security = container()["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    # A Service named `ttsd` would otherwise set TTSD_PORT=tcp://...: not a port number.
    assert pod["enableServiceLinks"] is False


def test_service_pdb_and_hpa_select_the_deployment() -> None:
    deployment = the("Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert the("Service")["spec"]["selector"].items() <= labels.items()
    assert the("PodDisruptionBudget")["spec"]["selector"]["matchLabels"].items() <= labels.items()
    for folder in (BASE, OVERLAYS / "hpa-load-ratio"):
        target = the("HorizontalPodAutoscaler", folder)["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    service_ports = {p["targetPort"] for p in the("Service")["spec"]["ports"]}
    assert service_ports == {"http"}


def test_ingress_timeouts_outlast_ttsds_idle_timeout() -> None:
    # nginx must not cut a quiet WebSocket before ttsd closes it itself.
    annotations = the("Ingress", OVERLAYS / "ingress-nginx")["metadata"]["annotations"]
    idle_s = Settings().connection_idle_timeout_s
    for name in ("proxy-read-timeout", "proxy-send-timeout"):
        assert int(annotations[f"nginx.ingress.kubernetes.io/{name}"]) > idle_s


def test_prometheus_adapter_rule_serves_the_metric_the_hpa_asks_for(server: str) -> None:
    values = documents(OVERLAYS / "hpa-load-ratio" / "prometheus-adapter-values.yaml")[0]
    [rule] = values["rules"]["custom"]
    hpa = the("HorizontalPodAutoscaler", OVERLAYS / "hpa-load-ratio")
    assert rule["name"]["as"] == hpa["spec"]["metrics"][0]["pods"]["metric"]["name"]
    # The series the rule reads is one that a running ttsd exports.
    series = re.match(r"[a-z_]+", rule["seriesQuery"])
    assert series is not None
    exposition = httpx.get(f"http://{server}/metrics").text
    names = {
        sample.name
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }
    assert series.group(0) in names, sorted(names)
