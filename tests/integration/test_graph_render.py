"""`batchplane graph` drawn by the real Graphviz `dot`: a PNG and an SVG of the example.

Graphviz is a Debian package (`make test` installs it as root); a missing `dot`
fails here, it never skips.
"""

from __future__ import annotations

import shutil
import struct
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from batchplane.cli.app import _Group
from batchplane.cli.graph import graph
from batchplane.spec import load_spec
from batchplane.views.graph import STYLES, build_graph
from tests.conftest import EXAMPLE_SPEC

runner = CliRunner()
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def _graphviz() -> None:
    if shutil.which("dot") is None:
        pytest.fail("Graphviz `dot` is not on PATH: apt-get install graphviz (make test installs it as root)")


def _app() -> typer.Typer:
    app = typer.Typer(cls=_Group, pretty_exceptions_enable=False)
    app.command()(graph)

    @app.callback()
    def _main() -> None:
        """Registered like cli.py does."""

    return app


def _draw(tmp_path: Path, name: str, *extra: str) -> Path:
    target = tmp_path / name
    result = runner.invoke(_app(), ["graph", "--env", "dev", "-o", str(target), "--spec", str(EXAMPLE_SPEC), *extra])
    assert result.exit_code == 0, result.output
    return target


def _png_pixels(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """Width, height and unfiltered rows of an 8-bit RGB or RGBA PNG (what Graphviz writes)."""
    assert data.startswith(PNG_SIGNATURE)
    position, idat, header = len(PNG_SIGNATURE), b"", b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind, body = data[position + 4 : position + 8], data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8
    assert colour in (2, 6), "RGB or RGBA"
    bpp = 3 if colour == 2 else 4
    raw, stride, rows = zlib.decompress(idat), width * bpp, []
    previous = bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = previous[i], previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, bpp, rows


def test_png_of_dev_shows_every_kind_of_node(tmp_path: Path) -> None:
    width, height, bpp, rows = _png_pixels(_draw(tmp_path, "dev.png").read_bytes())
    # Legible when pasted into a review: wider than tall, large enough to read at 100%.
    assert 1200 < width < 4000
    assert 400 < height < width
    pixels = {row[i : i + 3] for row in rows for i in range(0, len(row), bpp)}
    for name in ("event", "job", "queue", "ec2", "fargate"):
        fill = bytes.fromhex(STYLES[name].fill.removeprefix("#"))
        assert fill in pixels, f"no {name} box in the PNG"


def test_svg_of_dev_carries_every_label(tmp_path: Path) -> None:
    root = ET.parse(_draw(tmp_path, "dev.svg", "--aws-names")).getroot()
    texts = {t.text for t in root.iter(f"{SVG}text")}
    model = build_graph(load_spec(EXAMPLE_SPEC).env("dev"), "dev")
    for node in model.nodes:
        for line in node.lines(aws_names=True):
            assert line in texts, line
    assert {"1st", "2nd"} <= texts
    assert model.title in texts


def test_hostile_spec_strings_stay_text_in_the_svg(tmp_path: Path) -> None:
    text = EXAMPLE_SPEC.read_text(encoding="utf-8").replace(
        "prefix: incoming/", "prefix: 'in\"co#m<b>i</b>ng; & é -->'"
    )
    spec = tmp_path / "platform.yaml"
    spec.write_text(text, encoding="utf-8")
    shutil.copytree(EXAMPLE_SPEC.parent / "job_images", tmp_path / "job_images")
    target = tmp_path / "dev.svg"
    result = runner.invoke(_app(), ["graph", "-e", "dev", "-o", str(target), "--spec", str(spec)])
    assert result.exit_code == 0, result.output
    texts = {t.text for t in ET.parse(target).getroot().iter(f"{SVG}text")}
    assert 's3://acme-input/in"co#m<b>i</b>ng; & é -->*.csv' in texts


def test_png_and_svg_are_byte_identical_across_runs(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for name in ("dev.png", "dev.svg"):
        assert _draw(tmp_path / "a", name).read_bytes() == _draw(tmp_path / "b", name).read_bytes(), name


def test_png_goes_to_stdout_when_piped() -> None:
    result = runner.invoke(_app(), ["graph", "-e", "dev", "-f", "png", "--spec", str(EXAMPLE_SPEC)])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.startswith(PNG_SIGNATURE)
