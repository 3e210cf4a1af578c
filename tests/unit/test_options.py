"""Config declarations drive the command line, the App's forms and the checks alike."""

import pytest

from ldfa.cli import build_parser
from ldfa.cli.anonymize import anonymization_params
from ldfa.cli.options import given
from ldfa.plugin.anonymization.config import PAPER, AnonymizationConfig, DiffusionConfig
from ldfa.plugin.errors import ConfigError
from ldfa.plugin.models.detector.config import DetectorConfig


def parse(*argv):
    return build_parser().parse_args(list(argv))


def test_only_the_options_typed_reach_the_config_and_the_rest_keep_their_defaults():
    args = parse("anonymize", "--dataset", "d", "--method", "gauss", "--steps", "7", "--ellipse",
                 "--fill-color", "1", "2", "3", "--prompt", "")
    params = anonymization_params(args)
    assert params == {"method": "gauss", "num_inference_steps": 7, "mask_ellipse": True,
                      "fill_color": [1, 2, 3], "prompt": ""}
    config = AnonymizationConfig.build(**params)
    assert config.method == "gauss" and config.diffusion.num_inference_steps == 7
    assert config.fill_color == (1, 2, 3) and config.mask_ellipse
    assert config.seed == AnonymizationConfig().seed  # not typed: the config's own default


def test_detection_options_and_their_bounds():
    args = parse("detect", "--dataset", "d", "--zoom", "3", "--detector", "mtcnn")
    assert given(args, DetectorConfig) == {"zoom": 3.0, "detector": "mtcnn"}
    with pytest.raises(ConfigError, match="zoom must be >= 1.0 and <= 8.0, got 0.5"):
        DetectorConfig.build(zoom=0.5)
    with pytest.raises(ConfigError, match="unknown detection parameter"):
        DetectorConfig.build(zoom_factor=2)


@pytest.mark.parametrize("params, message", [
    ({"strength": 0}, "strength must be >= 0.01 and <= 1.0"),
    ({"crop_size": 100}, "crop_size must be a multiple of 8"),
    ({"method": "swirl"}, "unknown method 'swirl'"),
    ({"dtype": "int8"}, "unknown dtype 'int8'"),
    ({"jpeg_quality": 101}, "jpeg_quality must be >= 1 and <= 100"),
    ({"steps": 3}, "unknown anonymization parameter"),
])
def test_values_outside_their_declaration_are_refused_by_name(params, message):
    with pytest.raises(ConfigError, match=message):
        AnonymizationConfig.build(**params)


def test_the_diffusion_settings_nest_and_a_recorded_config_rebuilds_itself():
    config = AnonymizationConfig.build(preset="paper", strength=0.9, seed=4)
    assert isinstance(config.diffusion, DiffusionConfig)
    assert config.diffusion.strength == 0.9 and config.seed == 4  # explicit values over the preset
    assert config.diffusion.crop_size == PAPER["crop_size"]
    assert AnonymizationConfig.build(**config.to_dict()) == config


def test_the_digest_follows_output_pixels_only():
    base = AnonymizationConfig.build()
    assert AnonymizationConfig.build(batch_size=16, link_unchanged=True).digest() == base.digest()
    assert AnonymizationConfig.build(strength=0.5).digest() != base.digest()
    assert AnonymizationConfig.build(seed=1).digest() != base.digest()


def test_an_engine_is_a_name_a_dict_or_a_config_and_bad_ones_are_refused():
    from ldfa.plugin.engines.config import EngineConfig

    args = parse("anonymize", "--dataset", "d", "--engine", "ray", "--workers", "4")
    assert EngineConfig.of(given(args, EngineConfig)) == EngineConfig("ray", workers=4)
    assert EngineConfig.of(None) == EngineConfig.of("local") == EngineConfig()
    with pytest.raises(ConfigError, match="unknown engine 'spark'"):
        EngineConfig.of("spark")
    with pytest.raises(ConfigError, match="workers must be >= 1"):
        EngineConfig.of({"engine": "ray", "workers": 0})
    with pytest.raises(ConfigError, match="unknown engine parameter"):
        EngineConfig.of({"engine": "ray", "nodes": 2})
