"""``claster model summary``."""

from __future__ import annotations

import re


def test_summary_landscape(cli):
    code, out, err = cli(["model", "summary", "landscape"])
    assert code == 0, err
    assert "trainable parameters: 2205888" in out.splitlines()[-1]
    assert re.search(r"landscape\.conv\.5 .*out \(1, 64, 1, 297\)", out)
    assert re.search(r"landscape\.conv\.8 .*out \(1, 64, 1, 31\)", out)


def test_summary_options_change_the_network(cli):
    code, out, _ = cli(
        [
            "model",
            "summary",
            "landscape",
            "--context-bins",
            "201",
            "--output-bins",
            "19",
            "--landscape-layers",
            "1,1",
            "--fusion-blocks",
            "1",
        ]
    )
    assert code == 0
    assert "trainable parameters: 1092547" in out
    code, out, _ = cli(["model", "summary", "landscape", "--tracks", "3"])
    assert "trainable parameters: 2195247" in out
    code, out, _ = cli(["model", "summary", "promchic"])
    assert "trainable parameters: 2929947" in out
    assert re.search(r"structure\.conv\.3 .*out \(1, 8, 10, 10\)", out)


def test_summary_errors(cli):
    code, _, err = cli(["model", "summary", "resnet"])
    assert code == 1
    assert err.strip() == (
        "error: unknown model variant 'resnet'; choose one of landscape, landscape_attention, "
        "microc_rotated, microc_square, promchic"
    )
    code, _, err = cli(["model", "summary", "landscape", "--landscape-layers", "4;4"])
    assert code == 1 and "--landscape-layers must be comma-separated integers" in err
    code, _, err = cli(["model", "summary", "landscape", "--context-bins", "50"])
    assert code == 1 and "no convolution fits" in err
