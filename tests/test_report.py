"""report.html: embedded images and plots; rendered in headless Chromium where one is installed."""
import base64
import re
import shutil
import subprocess

import pytest

from inria.recipe import load
from inria.runner import execute

RECIPE = """name: rep
device: cpu
steps:
  - id: photos
    run: images
    with: {source: samples, size: 64, limit: 2}
  - id: code
    codec: fakejpeg
    do: evaluate
    with: {sweep: {quality: [20, 80]}}
    inputs: {images: photos}
  - id: attacked
    run: attack
    with: {attacks: [none, jpeg_50]}
    inputs: {images: photos}
"""


def _run(tmp_path, fake_codecs):
    (tmp_path / "r.yaml").write_text(RECIPE)
    with fake_codecs(tmp_path / "site"):
        return execute(load(str(tmp_path / "r.yaml")), tmp_path / "runs")


def test_report_embeds_valid_pngs(tmp_path, fake_codecs):
    run = _run(tmp_path, fake_codecs)
    page = (run / "report.html").read_text()
    imgs = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(imgs) >= 6  # rd plot + photo thumbnails + reconstructions + attacked groups
    for data in imgs:
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "rate-distortion" in page or "summary plot" in page
    assert "http://" not in page and "https://" not in page  # opens offline


def test_report_renders_in_chromium(tmp_path, fake_codecs):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("headless Chromium is not installed (CI installs Debian's chromium); rendering not checked")
    run = _run(tmp_path, fake_codecs)
    # Count images that decoded: naturalWidth == 0 means a broken image.
    probe = run / "probe.html"
    page = (run / "report.html").read_text()
    script = ("<script>window.onload=function(){var b=0,n=0;for(const i of document.images){n++;if(!i.complete||"
              "i.naturalWidth===0)b++;}document.title='images:'+n+' broken:'+b;}</script>")
    probe.write_text(page.replace("</body>", script + "</body>"))
    out = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                          "--disable-component-update", "--disable-sync", "--no-first-run",
                          f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom",
                          probe.as_uri()], capture_output=True, text=True, timeout=120)
    m = re.search(r"<title>images:(\d+) broken:(\d+)</title>", out.stdout)
    assert m, out.stderr[-1000:]
    assert int(m.group(1)) >= 6 and int(m.group(2)) == 0
