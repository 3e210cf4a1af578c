"""Controlled LDFA's parameters: declared once, checked across fields, and invisible to the digest
of plain runs (so runs recorded before they existed still resume)."""

import pytest

from ldfa.plugin.anonymization.config import (
    CAMOUFLAGE,
    DEFAULT_CONTROLNETS,
    PAPER,
    AnonymizationConfig,
)
from ldfa.plugin.errors import ConfigError


def test_lists_and_text_give_the_same_config_and_defaults_fill_the_controlnets():
    listed = AnonymizationConfig.build(control=["face_mesh", "canny"])
    assert listed == AnonymizationConfig.build(control="face_mesh, canny")
    assert listed.diffusion.controls == ("face_mesh", "canny")
    assert listed.diffusion.controlnets == (DEFAULT_CONTROLNETS["face_mesh"], DEFAULT_CONTROLNETS["canny"])
    given = AnonymizationConfig.build(control=["canny"], controlnet=["/models/canny"])
    assert given.diffusion.controlnets == ("/models/canny",)
    assert AnonymizationConfig.build(**listed.to_dict()) == listed  # a recorded run rebuilds itself


@pytest.mark.parametrize("params, message", [
    ({"control": "depth"}, "unknown control 'depth'"),
    ({"control": "canny,canny"}, "names a condition twice"),
    ({"control": "canny", "controlnet": "a,b"}, "one ControlNet per control"),
    ({"push_away": True}, "guidance_scale above 1"),
    ({"controlnet_scale": -1.0}, "controlnet_scale must be >= 0.0"),
])
def test_contradictions_are_refused(params, message):
    with pytest.raises(ConfigError, match=message):
        AnonymizationConfig.build(**params)


def test_plain_runs_keep_their_digest_and_controls_change_it():
    plain = AnonymizationConfig.build()
    digest = plain.digest()
    assert digest == "eadb105c69ef"  # the digest of the default config before controls existed
    assert AnonymizationConfig.build(control="face_mesh").digest() != digest
    assert AnonymizationConfig.build(push_away=True, guidance_scale=2.0).digest() != (
        AnonymizationConfig.build(guidance_scale=2.0).digest())


def test_camouflage_is_the_paper_with_face_mesh_control_and_push_away():
    config = AnonymizationConfig.build(preset="camouflage")
    recorded = config.to_dict()
    flat = {**recorded, **recorded.pop("diffusion")}  # what the built config holds
    assert {k: v for k, v in flat.items() if k in PAPER and k != "guidance_scale"} == {
        k: v for k, v in PAPER.items() if k != "guidance_scale"}
    assert flat["guidance_scale"] == CAMOUFLAGE["guidance_scale"]
    assert config.diffusion.controls == ("face_mesh",) and config.diffusion.push_away
    assert config.diffusion.guidance_scale > 1
