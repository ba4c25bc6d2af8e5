"""Scale-out (issue 9, point 8): nginx in front of three `ttsd serve` (the real voice) on
loopback, streaming contexts through it while the backends are restarted one after
another with SIGTERM. Runs deploy/nginx/rolling_restart.py's `run`, the recipe the
README documents, and checks what a user of it would check.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.deployment.conftest import require_program

RECIPE = Path(__file__).resolve().parents[2] / "deploy" / "nginx"


@pytest.fixture(scope="module")
def recipe() -> Iterator[ModuleType]:
    """deploy/nginx/rolling_restart.py (a script, not a package: its folder goes on
    sys.path so it finds its sibling modules, as when it is run)."""
    sys.path.insert(0, str(RECIPE))
    try:
        import rolling_restart

        yield rolling_restart
    finally:
        sys.path.remove(str(RECIPE))


def test_the_config_renders_with_every_backend_and_keeps_its_settings(
    recipe: ModuleType, tmp_path: Path
) -> None:
    import cluster

    text = cluster.SITE_CONFIG.read_text("utf-8")
    rendered = cluster.render_site_config(text, [9101, 9102, 9103, 9104], 9100)

    assert "listen 127.0.0.1:9100;" in rendered
    for port in (9101, 9102, 9103, 9104):
        assert f"server 127.0.0.1:{port} max_fails=2 fail_timeout=5s;" in rendered
    assert "8421" not in rendered and "8080" not in rendered
    # what the recipe relies on, as the user's copy has it
    for directive in (
        "least_conn;",
        "map $http_upgrade $connection_upgrade",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        "proxy_http_version 1.1;",
        "proxy_read_timeout 330s;",  # > ttsd's 300 s idle close
        "proxy_send_timeout 330s;",
        "proxy_buffering off;",
        "proxy_next_upstream error timeout http_503 non_idempotent;",
    ):
        assert directive in rendered, directive
    with pytest.raises(cluster.ClusterError, match="server HOST:PORT"):
        cluster.render_site_config("upstream ttsd {}\nserver { listen 80; }", [1], 2)


def test_nginx_accepts_the_config(recipe: ModuleType, tmp_path: Path) -> None:
    import cluster

    nginx = require_program("nginx")
    prefix = tmp_path / "nginx"
    for sub in ("logs", "temp"):
        (prefix / sub).mkdir(parents=True)
    site = prefix / "ttsd.conf"
    text = cluster.SITE_CONFIG.read_text("utf-8")
    site.write_text(cluster.render_site_config(text, [9101, 9102, 9103], cluster.free_port()))
    (prefix / "nginx.conf").write_text(cluster.main_config(prefix, site))

    check = subprocess.run(
        [*cluster.nginx_command(nginx, prefix), "-t"], capture_output=True, text=True
    )

    assert check.returncode == 0, check.stderr
    assert "syntax is ok" in check.stderr


@pytest.mark.timeout(420)
def test_a_rolling_restart_behind_nginx_loses_no_context(
    recipe: ModuleType, tmp_path: Path
) -> None:
    nginx = require_program("nginx")
    options = recipe.Options(nginx=nginx, workdir=tmp_path)

    report = recipe.run(options)
    print("\n".join(report.lines()))  # shown with -rA / on failure: the recipe's numbers

    # at least 24 contexts at once: every connection's first round opens them together
    assert options.connections * options.shape.contexts_per_connection >= 24
    assert len(report.started) >= 24
    assert report.lost == [], [(c.context_id, c.reason) for c in report.lost]
    assert len(report.completed) == len(report.started)
    assert report.failed_checks == {}
    assert report.connections.stray_frames == 0
    for context in report.completed:
        assert context.kinds[-1] == "done"
        assert context.flush_dones == [1, 2]
        assert context.words  # word timestamps came
    # the restart really overlapped the traffic: draining backends closed connections
    # (1012) under the clients, or contexts had to be sent again
    assert report.connections.closed_codes[1012] > 0 or report.retried
    # pooled connections kept opening contexts after their backend's SIGTERM: served there
    draining = report.opened_while_draining()
    assert draining, "no context was opened on a draining connection"
    assert all(c.outcome == "completed" for c in draining)
    assert len(report.restarts) == options.backends
    served = report.served()
    for restart, backend in zip(report.restarts, report.backends, strict=True):
        assert restart.new_pid != restart.old_pid
        assert restart.exit_code == 0, restart  # the drain ends in a clean exit
        assert restart.readyz_while_draining == "503", restart
        assert restart.live_contexts_at_sigterm > 0, restart  # it had work when stopped
        assert restart.drain_s < options.drain_timeout_s, restart  # drained, not cut off
        old, new = backend.generations
        assert served.get((backend.index, old.pid), 0) > 0, backend.name
        assert served.get((backend.index, new.pid), 0) > 0, backend.name
    # REST through nginx never saw a draining or stopped backend
    assert report.rest.requests > 0
    assert report.rest.ok == report.rest.requests, report.rest.failures
    # nginx adds little to the time to first audio (loopback; the same backends)
    nginx_p50 = statistics.median(report.probe_nginx_s)
    direct_p50 = statistics.median(report.probe_direct_s)
    assert nginx_p50 < direct_p50 * 1.5 + 0.05, (report.probe_nginx_s, report.probe_direct_s)
